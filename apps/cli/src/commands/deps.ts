import type { ApiClient } from '@ims-importer/api-client'
import type { OutputStream } from '../progress.js'

/** What every command gets from main: the API client, the output streams and the clock. */
export interface CommandDeps {
  client: ApiClient
  stdout: OutputStream
  stderr: OutputStream
  now?: () => number
  sleep?: (ms: number) => Promise<void>
  /** Time zone of the clock times shown (ETAs); default: the machine's. */
  timeZone?: string
}

export const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
