import { buildSimulator } from './app.js'
import type { SimulatorControl, SimulatorOptions } from './options.js'

export { buildSimulator } from './app.js'
export { IMS_ERROR_CODES } from './data/ims-error-codes.js'
export { OS_VERSIONS } from './data/os-versions.js'
export { bitmapKeyFor, judgeImageFile, MAX_QUICK_IMPORT_BYTES } from './obs/file-verdict.js'
export { obsSignature, obsStringToSign } from './obs/obs-signature.js'
export type { ObsBucketSeed, ObsObjectSeed, ObsSeed, StorageClass } from './obs/obs-store.js'
export type {
  Faults,
  Operation,
  RateLimit,
  RequestLogEntry,
  SimulatorControl,
  SimulatorCounters,
  SimulatorOptions,
  SimulatorQuota,
} from './options.js'
export { validateQuickImport } from './quick-import-validation.js'

export interface RunningSimulator {
  /** Base URL, e.g. http://127.0.0.1:4600; IAM is at `${url}/v3`, IMS at the root. */
  url: string
  control: SimulatorControl
  close(): Promise<void>
}

/** Builds the simulator and listens on `options.port` (0 = a free port) and `options.host`. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const { app, control } = buildSimulator(options)
  const host = options.host ?? '127.0.0.1'
  await app.listen({ port: options.port ?? 0, host })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 0)
  const urlHost = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${urlHost}:${port}`,
    control,
    close: async () => {
      await app.close()
    },
  }
}
