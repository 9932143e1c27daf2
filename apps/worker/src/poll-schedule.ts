import { jobIds, POLL_JOB_OPTIONS, PollJob, type PollSchedule, type TargetConfig } from '@ims-importer/core'
import type { WorkerDeps } from './deps.js'

/**
 * Delay before poll number `attempt` (1 = the first poll after submit): the initial delay,
 * growing by `factor` per poll up to `maxDelayMs`, with +/- `jitter` share at random.
 * Defaults (core targets.ts): 30 s, x1.5, 5 min ceiling, 10% jitter; the ceiling is reached at
 * the 7th poll (about 8 minutes in), so an import of minutes is seen soon after it ends and one
 * of hours costs about 12 polls an hour.
 */
export function pollDelayMs(
  schedule: Pick<PollSchedule, 'initialDelayMs' | 'factor' | 'maxDelayMs' | 'jitter'>,
  attempt: number,
  random = Math.random,
): number {
  const base = Math.min(
    schedule.maxDelayMs,
    schedule.initialDelayMs * schedule.factor ** Math.max(0, attempt - 1),
  )
  const spread = base * schedule.jitter
  return Math.max(1, Math.round(base - spread + random() * 2 * spread))
}

/** Adds the one poll job of an import (job id poll-<id>; a second add while it exists is a no-op). */
export async function schedulePoll(
  deps: WorkerDeps,
  target: TargetConfig,
  importId: string,
  delayMs = pollDelayMs(target.poll, 1),
): Promise<void> {
  await deps.queues.poll(target.name).add('poll', PollJob.parse({ importId, attempt: 1 }), {
    ...POLL_JOB_OPTIONS,
    jobId: jobIds.poll(importId),
    delay: delayMs,
  })
}
