import { z } from 'zod'
import { UserError } from './user-error.js'

export const DEFAULT_URL = 'http://127.0.0.1:8080'

/** The environment the CLI reads (only through main.ts). */
export const CliEnv = z.object({
  IMS_IMPORTER_URL: z.string().optional(),
  IMS_IMPORTER_API_KEY: z.string().optional(),
})
export type CliEnv = z.infer<typeof CliEnv>

export interface CliConfig {
  url: string
  apiKey: string
}

/** Flags win over env; the key is required and never echoed back in an error. */
export function loadCliConfig(
  flags: { url?: string | undefined; apiKey?: string | undefined },
  env: Record<string, string | undefined>,
): CliConfig {
  const parsed = CliEnv.parse({
    IMS_IMPORTER_URL: env.IMS_IMPORTER_URL,
    IMS_IMPORTER_API_KEY: env.IMS_IMPORTER_API_KEY,
  })
  const url = (flags.url ?? parsed.IMS_IMPORTER_URL)?.trim() || DEFAULT_URL
  let parsedUrl: URL
  try {
    parsedUrl = new URL(url)
  } catch {
    throw new UserError(`--url / IMS_IMPORTER_URL is not a URL: ${url}`)
  }
  if (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:')
    throw new UserError(`--url / IMS_IMPORTER_URL must be http(s), got ${parsedUrl.protocol}`)
  if (parsedUrl.username || parsedUrl.password)
    throw new UserError(
      '--url / IMS_IMPORTER_URL must not carry credentials; use --api-key or IMS_IMPORTER_API_KEY',
    )
  const apiKey = (flags.apiKey ?? parsed.IMS_IMPORTER_API_KEY)?.trim()
  if (!apiKey) throw new UserError('no API key: set IMS_IMPORTER_API_KEY (or pass --api-key)')
  return { url: parsedUrl.toString().replace(/\/+$/, ''), apiKey }
}
