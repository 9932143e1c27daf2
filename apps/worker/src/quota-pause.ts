import type { TargetConfig, WaitingState } from '@ims-importer/core'

// The pure side of the image quota (image-quota.ts): its policy and what a pause says. No Redis.

export interface QuotaPolicy {
  /** How often the quota is read again (ms); one worker reads for all. */
  refreshMs: number
  /** How long after an accepted POST IMS may not count its image in `used` yet (ms). */
  countLagMs: number
}

/**
 * The target's quota policy: its `quota` fields, else on the target's own clock (the poll
 * schedule's first delay: 30 s against IMS, 1 s on the simulator of `pnpm start`): a read every
 * two first-poll delays (60 s), and an accepted import counted by itself until a read that long
 * after its POST (IMS does not say when an image starts counting; the simulator counts at once).
 */
export function resolveQuotaPolicy(t: Pick<TargetConfig, 'poll' | 'quota'>): QuotaPolicy {
  const refreshMs = t.quota?.refreshMs ?? 2 * t.poll.initialDelayMs
  return { refreshMs, countLagMs: t.quota?.countLagMs ?? refreshMs }
}

/** Why a target's submissions pause, as the submit decision needs it. */
export interface QuotaPause {
  /** IMG.0015 when IMS refused a POST; null when the last read leaves no free quota. */
  code: string | null
  message: string
  /** Redis ms when the pause began. */
  since: number
  /** When the next read of the quota may run (ms from now). */
  retryInMs: number
}

/** The record field for a pause (core WaitingState). */
export function waitingFor(pause: QuotaPause): WaitingState {
  return {
    reason: 'image_quota',
    code: pause.code,
    message: pause.message,
    since: new Date(pause.since).toISOString(),
  }
}
