// Wiring only: parse env once, start the worker, shut down on SIGTERM/SIGINT, SIGHUP reads TENANTS_FILE again.
import { createLogger } from '@ims-importer/core'
import { loadWorkerConfig } from './config.js'
import { startWorker } from './index.js'
import { followTenantsFile } from './tenants-reload.js'

const config = loadWorkerConfig(process.env)
const log = createLogger({ name: 'worker', level: config.logLevel })
const started = await startWorker(config, { log })
log.info({ url: started.url }, 'health server listening')

let stopping = false
const stop = (signal: string) => {
  if (stopping) return
  stopping = true
  log.info({ signal }, 'shutting down')
  started.close().then(
    () => process.exit(0),
    (err) => {
      log.error({ err }, 'shutdown failed')
      process.exit(1)
    },
  )
}
process.on('SIGTERM', () => stop('SIGTERM'))
process.on('SIGINT', () => stop('SIGINT'))
// The tenants file, read again every TENANTS_RELOAD_MS and at once on SIGHUP: tenants-reload.ts.
const tenantsWatch = followTenantsFile(started.runtime.deps, process.env)
process.on('SIGHUP', () => {
  if (!tenantsWatch) log.warn('SIGHUP: no TENANTS_FILE to read again')
  else void tenantsWatch.check()
})
