import type { Logger, TargetConfig } from '@ims-importer/core'
import {
  createObsClient,
  isObsError,
  type ObsClient,
  type ObsClientOptions,
  type ObsCredentials,
} from '@ims-importer/ims-client'
import { bitmapKeyFor, type ImageFile, type ObsFacts, type Presence, preflightModeOf } from './preflight.js'

// The pre-flight's OBS reads, per target: the bucket's location and default storage class, HEAD
// of the object and, for RAW, of its `.mf` bitmap, all at once (one round trip of latency). A
// bucket's facts are kept in this process for BUCKET_TTL_MS, so imports from one bucket cost one
// HEAD each (two for RAW). The checks themselves: preflight.ts. Why: docs/preflight.md.

/** How long a bucket's location and storage class are reused (ms). */
export const BUCKET_TTL_MS = 60_000

export type PreflightRead =
  | { kind: 'facts'; facts: ObsFacts; requests: number }
  /** OBS gave no answer about the file (unreachable, 5xx, throttled): try again later. */
  | { kind: 'unavailable'; message: string; throttled: boolean }
  /** OBS refused the target's OBS credentials, or answered nonsense: the file cannot be checked. */
  | { kind: 'unchecked'; message: string }

export interface PreflightReader {
  /** Whether the target's imports are checked (mode not off and OBS credentials at hand). */
  enabled(target: string): boolean
  read(target: string, image: ImageFile): Promise<PreflightRead>
  close(): Promise<void>
}

/** The target's OBS credentials: its `obs.auth`, else its own AK/SK; null for a token target without. */
export function obsCredentialsOf(target: TargetConfig): ObsCredentials | null {
  if (target.obs?.auth) return target.obs.auth
  if (target.auth.type === 'aksk')
    return {
      ak: target.auth.ak,
      sk: target.auth.sk,
      ...(target.auth.securityToken ? { securityToken: target.auth.securityToken } : {}),
    }
  return null
}

const presence = (r: { kind: 'not-found' | 'forbidden' }): Presence => ({ kind: r.kind })

export function createPreflightReader(
  targets: readonly TargetConfig[],
  log: Logger,
  clientOptions: Partial<Pick<ObsClientOptions, 'timeoutMs' | 'connectMs'>> = {},
): PreflightReader {
  const clients = new Map<string, ObsClient>()
  for (const t of targets) {
    if (preflightModeOf(t) === 'off' || !t.obs) continue
    const credentials = obsCredentialsOf(t)
    if (!credentials) {
      log.warn(
        { target: t.name },
        'preflight: the target has OBS but no AK/SK for it (token auth without obs.auth); its files are not checked',
      )
      continue
    }
    clients.set(t.name, createObsClient({ endpoint: t.obs.endpoint, credentials, ...clientOptions }))
  }
  const buckets = new Map<string, { at: number; facts: ObsFacts['bucket'] }>()

  async function bucketFacts(
    target: string,
    obs: ObsClient,
    bucket: string,
  ): Promise<[ObsFacts['bucket'], number]> {
    const cacheKey = `${target}\n${bucket}`
    const cached = buckets.get(cacheKey)
    if (cached && Date.now() - cached.at < BUCKET_TTL_MS) return [cached.facts, 0]
    const [location, storageClass] = await Promise.all([
      obs.bucketLocation(bucket),
      obs.bucketStorageClass(bucket),
    ])
    if (location.kind !== 'found') return [presence(location), 2]
    const facts: ObsFacts['bucket'] = {
      kind: 'found',
      region: location.location,
      storageClass: storageClass.kind === 'found' ? storageClass.storageClass : null,
    }
    // Only a bucket that is there is kept: a missing one may be created any minute.
    buckets.set(cacheKey, { at: Date.now(), facts })
    if (buckets.size > 10_000) buckets.delete(buckets.keys().next().value as string)
    return [facts, 2]
  }

  return {
    enabled: (target) => clients.has(target),
    async read(target, image) {
      const obs = clients.get(target)
      if (!obs) return { kind: 'unchecked', message: 'no OBS client for the target' }
      try {
        const [[bucket, bucketRequests], object, bitmap] = await Promise.all([
          bucketFacts(target, obs, image.bucket),
          obs.headObject(image.bucket, image.key),
          image.format === 'raw' ? obs.headObject(image.bucket, bitmapKeyFor(image.key)) : undefined,
        ])
        const facts: ObsFacts = {
          bucket,
          object: object.kind === 'found' ? object : presence(object),
          ...(bitmap ? { bitmap: bitmap.kind === 'found' ? { kind: 'found' } : presence(bitmap) } : {}),
        }
        return { kind: 'facts', facts, requests: bucketRequests + 1 + (bitmap ? 1 : 0) }
      } catch (err) {
        if (!isObsError(err)) throw err
        if (err.kind === 'unavailable' || err.kind === 'throttled')
          return { kind: 'unavailable', message: err.message, throttled: err.kind === 'throttled' }
        return { kind: 'unchecked', message: err.message }
      }
    },
    close: async () => {
      await Promise.all([...clients.values()].map((c) => c.close()))
    },
  }
}
