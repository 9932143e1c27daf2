import type { TargetConfig } from '@ims-importer/core'
import { createImsClient, type ImsClient, isImsError, normalizeErrorCode } from '@ims-importer/ims-client'
import { RATE_THROTTLE_CODES } from './ims-failure.js'
import type { WorkerMetrics } from './metrics.js'
import type { SubmitGate } from './submit-gate.js'

export interface ImsClients {
  /** The client of one target; throws for a target that is not configured. */
  get(target: string): ImsClient
  close(): Promise<void>
}

/**
 * One IMS client per target (its own token cache and connection pool), reporting to metrics.
 * With the submit gate, each target's quick-import POSTs are tracked until answered (a held
 * admission is stamped after its answer) and a rate throttle widens the target's margin
 * (docs/submit-gate.md).
 */
export function createImsClients(
  targets: TargetConfig[],
  metrics: WorkerMetrics,
  gate?: Pick<SubmitGate, 'trackPost' | 'throttled'>,
): ImsClients {
  const clients = new Map<string, ImsClient>()
  for (const t of targets) {
    const client = createImsClient({
      imsEndpoint: t.imsEndpoint,
      iamEndpoint: t.iamEndpoint,
      projectId: t.projectId,
      auth: t.auth,
      cloud: t.cloud,
      onResponse: (info) => metrics.observeImsResponse(t.name, info),
    })
    clients.set(t.name, gate ? gatedPosts(client, t, gate) : client)
  }
  return {
    get: (target) => {
      const c = clients.get(target)
      if (!c) throw new Error(`no IMS client for target "${target}"`)
      return c
    },
    close: async () => {
      await Promise.all([...clients.values()].map((c) => c.close()))
    },
  }
}

/** `client` whose quick-import POSTs the gate sees start, end, and be throttled. */
function gatedPosts(
  client: ImsClient,
  t: TargetConfig,
  gate: Pick<SubmitGate, 'trackPost' | 'throttled'>,
): ImsClient {
  const limit = { target: t.name, limit: t.limits.submitRate, windowMs: t.limits.submitWindowMs }
  return {
    ...client,
    quickImport: async (body, opts) => {
      // Tracked before the request starts (in this turn), so the admission's sent() waits for it.
      const answered = gate.trackPost(t.name)
      try {
        return await client.quickImport(body, opts)
      } catch (err) {
        if (isImsError(err) && err.code !== null && RATE_THROTTLE_CODES.has(normalizeErrorCode(err.code)))
          // Widened before the caller learns of the 429: its next admission already sees it.
          await gate.throttled(limit).catch(() => undefined)
        throw err
      } finally {
        answered()
      }
    },
  }
}
