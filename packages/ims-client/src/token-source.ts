import { ImsError } from './ims-error.js'

// Caches the IAM token and refreshes it ahead of expiry. One refresh at a time: concurrent
// callers share the request in flight, so a burst of calls costs one IAM round trip.

export interface IssuedToken {
  token: string
  /** expires_at - issued_at as IAM states them, so a skewed local clock does not matter. */
  lifetimeMs: number
}

export interface TokenSource {
  /** A token valid now: the cached one, or a fresh one when within the refresh margin. */
  get(): Promise<string>
  /** Forget `token` (IMS said it must be updated); a no-op if it was already replaced. */
  invalidate(token: string): void
}

export function createTokenSource(deps: {
  issue: () => Promise<IssuedToken>
  marginMs: number
  now?: () => number
}): TokenSource {
  const now = deps.now ?? Date.now
  let current: { token: string; expiresAt: number; refreshAt: number } | null = null
  let pending: Promise<string> | null = null

  function refresh(): Promise<string> {
    if (pending === null) {
      pending = (async () => {
        const requestedAt = now()
        const { token, lifetimeMs } = await deps.issue()
        const lifetime = Math.max(0, lifetimeMs)
        // Short-lived tokens (tests, temporary credentials) refresh at half-life instead.
        const margin = Math.min(deps.marginMs, lifetime / 2)
        current = { token, expiresAt: requestedAt + lifetime, refreshAt: requestedAt + lifetime - margin }
        return token
      })().finally(() => {
        pending = null
      })
    }
    return pending
  }

  return {
    async get() {
      const held = current
      if (held !== null && now() < held.refreshAt) return held.token
      if (held === null || now() >= held.expiresAt) return refresh()
      try {
        return await refresh()
      } catch (err) {
        // Inside the margin the old token still works: ride out an IAM hiccup with it.
        const retryable = err instanceof ImsError && (err.kind === 'transient' || err.kind === 'throttled')
        if (retryable && now() < held.expiresAt) return held.token
        throw err
      }
    },
    invalidate(token) {
      if (current?.token === token) current = null
    },
  }
}
