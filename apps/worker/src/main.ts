// The worker arrives with its own issue; this entry point only proves the package builds.
import { createLogger } from '@ims-importer/core'

createLogger({ name: 'worker', level: 'info' }).info('worker: not implemented yet')
