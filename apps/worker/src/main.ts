// Wiring only: parse env once, start the worker, shut down on SIGTERM/SIGINT.
import { createLogger } from '@ims-importer/core'
import { loadWorkerConfig } from './config.js'
import { startWorker } from './index.js'

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
