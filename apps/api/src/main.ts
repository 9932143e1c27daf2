// The intake API arrives with its own issue; this entry point only proves the package builds.
import { createLogger } from '@ims-importer/core'

createLogger({ name: 'api', level: 'info' }).info('api: not implemented yet')
