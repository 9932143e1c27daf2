import { ConfigError } from '@ims-importer/core'
import { buildApp } from './app.js'
import { loadApiConfig } from './config.js'
import { createApiDeps } from './deps.js'
import { followTenantsFile } from './tenants-reload.js'

// Wiring only: parse env once, build deps, listen, stop on SIGTERM/SIGINT within a deadline.
let config: ReturnType<typeof loadApiConfig>
try {
  config = loadApiConfig(process.env)
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`api: ${err.message}\n`)
    process.exit(1)
  }
  throw err
}

const deps = createApiDeps(config)
const { log } = deps
if (config.usingDevKey)
  log.warn(
    { tenant: 'dev' },
    'API_KEYS is not set: the development key of tenant "dev" is in use (documented in apps/api/README.md); never in production',
  )

const app = buildApp(deps)
let stopping = false
const stop = async (signal: string) => {
  if (stopping) return
  stopping = true
  log.info({ signal }, 'api stopping')
  const timer = setTimeout(() => {
    log.error({ deadline_ms: config.shutdownDeadlineMs }, 'api shutdown deadline passed; exiting')
    process.exit(1)
  }, config.shutdownDeadlineMs)
  timer.unref()
  // app.close stops taking connections, lets in-flight requests finish, then its onClose hooks
  // close the queues and the Redis connection (reverse of start order).
  await app.close()
  log.info('api stopped')
  process.exit(0)
}
process.on('SIGTERM', () => void stop('SIGTERM'))
process.on('SIGINT', () => void stop('SIGINT'))
// The tenants file, read again every TENANTS_RELOAD_MS and at once on SIGHUP: tenants-reload.ts.
const tenantsWatch = followTenantsFile(deps, process.env)
process.on('SIGHUP', () => {
  if (!tenantsWatch) log.warn('SIGHUP: no TENANTS_FILE to read again')
  else void tenantsWatch.check()
})

try {
  await app.listen({ port: config.port, host: config.host })
} catch (err) {
  log.fatal({ err }, 'api could not listen')
  process.exit(1)
}
const address = app.server.address()
const port = typeof address === 'object' && address ? address.port : config.port
const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
log.info({ url, docs: `${url}/docs`, targets: config.targets }, 'api listening')
process.stdout.write(`ims-importer API listening on ${url} (docs: ${url}/docs)\n`)
