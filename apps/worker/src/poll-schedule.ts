import {
  jobIds,
  POLL_JOB_OPTIONS,
  PollJob,
  type PollSchedule,
  type SizeHint,
  type TargetConfig,
} from '@ims-importer/core'
import type { WorkerDeps } from './deps.js'
import { planNextPoll, resolvePollPolicy } from './poll-planner.js'

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

/**
 * Delay of an import's first poll, right after IMS accepted it: the planner's, from the target's
 * duration history (no progress yet; the import's size when known, e.g. its file's from the
 * pre-flight, else the target's imports as a whole); the fixed schedule's first delay with no
 * history, with `poll.planner: 'fixed'`, or if Redis fails.
 */
export async function firstPollDelayMs(
  deps: WorkerDeps,
  target: TargetConfig,
  size: SizeHint | null = null,
): Promise<number> {
  if (target.poll.planner === 'fixed') return pollDelayMs(target.poll, 1)
  try {
    const now = Date.now()
    const [estimate, demand] = await Promise.all([
      deps.durationModel.estimate(target.name, size),
      deps.placeDemand(target.name),
    ])
    const plan = planNextPoll(resolvePollPolicy(target.poll), {
      now,
      submittedAt: now,
      polls: 0,
      progress: [],
      estimate,
      demand,
      random: Math.random(),
    })
    return plan.delayMs
  } catch {
    return pollDelayMs(target.poll, 1)
  }
}

/**
 * Adds the one poll job of an import (job id poll-<id>; a second add while it exists is a no-op).
 * Without `delayMs` the first poll is planned, for an import of `size` when known.
 */
export async function schedulePoll(
  deps: WorkerDeps,
  target: TargetConfig,
  importId: string,
  delayMs?: number,
  size: SizeHint | null = null,
): Promise<void> {
  const delay = delayMs ?? (await firstPollDelayMs(deps, target, size))
  await deps.queues.poll(target.name).add('poll', PollJob.parse({ importId, attempt: 1 }), {
    ...POLL_JOB_OPTIONS,
    jobId: jobIds.poll(importId),
    delay,
  })
}
