import type { Operation, RateLimit, RequestLogEntry } from './options.js'

/** What the gateway saw: per-operation request and response counts, and the full request log. */
export interface Traffic {
  received(entry: RequestLogEntry): void
  answered(entry: RequestLogEntry, status: number): void
  requests(): Record<string, number>
  responses(): Record<string, Record<string, number>>
  log(op?: string): RequestLogEntry[]
  clear(): void
}

export function createTraffic(): Traffic {
  let entries: RequestLogEntry[] = []
  let requests: Record<string, number> = {}
  let responses: Record<string, Record<string, number>> = {}
  return {
    received(entry) {
      entries.push(entry)
      requests[entry.op] = (requests[entry.op] ?? 0) + 1
    },
    answered(entry, status) {
      entry.status = status
      const byStatus = responses[entry.op] ?? {}
      byStatus[String(status)] = (byStatus[String(status)] ?? 0) + 1
      responses[entry.op] = byStatus
    },
    requests: () => ({ ...requests }),
    responses: () => Object.fromEntries(Object.entries(responses).map(([op, s]) => [op, { ...s }])),
    log: (op) => (op === undefined ? entries : entries.filter((e) => e.op === op)).map((e) => ({ ...e })),
    clear() {
      entries = []
      requests = {}
      responses = {}
    },
  }
}

/**
 * The gateway's sliding-window limiter: a request is admitted when fewer than `limit` requests of
 * its operation were admitted in the `windowMs` before it. Rejected requests do not count.
 */
export interface RateLimiter {
  admit(op: Operation, limit: RateLimit, now: number): boolean
  clear(): void
}

export function createRateLimiter(): RateLimiter {
  const admitted = new Map<Operation, number[]>()
  return {
    admit(op, { limit, windowMs }, now) {
      const times = (admitted.get(op) ?? []).filter((t) => t > now - windowMs)
      const ok = times.length < limit
      if (ok) times.push(now)
      admitted.set(op, times)
      return ok
    },
    clear: () => admitted.clear(),
  }
}

/** "1 second", "2 minutes", "250 milliseconds": the unit the gateway names in its 429 message. */
export function describeWindow(windowMs: number): string {
  const [n, unit] =
    windowMs % 60_000 === 0
      ? [windowMs / 60_000, 'minute']
      : windowMs % 1000 === 0
        ? [windowMs / 1000, 'second']
        : [windowMs, 'millisecond']
  return `${n} ${unit}${n === 1 ? '' : 's'}`
}
