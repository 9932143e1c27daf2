import { randomUUID } from 'node:crypto'
import autocannon from 'autocannon'

export interface LoadOptions {
  url: string
  connections: number
  durationS: number
  body: string
  headers?: Record<string, string>
  /** A fresh Idempotency-Key on every request. */
  idempotencyKeys?: boolean
}

export interface LoadResult {
  /** 2xx answers per second over the run. */
  okPerSec: number
  p50Ms: number
  p99Ms: number
  ok: number
  non2xx: number
  errors: number
  durationS: number
  statusCodes: Record<string, number>
}

/** Hammers one POST route with autocannon from this process. */
export async function hammer(o: LoadOptions): Promise<LoadResult> {
  const headers = { 'content-type': 'application/json', ...o.headers }
  const result = await autocannon({
    url: o.url,
    connections: o.connections,
    duration: o.durationS,
    method: 'POST',
    headers,
    body: o.body,
    timeout: 30,
    ...(o.idempotencyKeys
      ? {
          requests: [
            {
              method: 'POST',
              setupRequest: (req) => ({ ...req, headers: { ...headers, 'idempotency-key': randomUUID() } }),
            },
          ],
        }
      : {}),
  })
  const statusCodes: Record<string, number> = {}
  for (const [code, v] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = v.count ?? 0
  return {
    okPerSec: result['2xx'] / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    durationS: result.duration,
    statusCodes,
  }
}
