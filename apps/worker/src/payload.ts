import { UnrecoverableError } from 'bullmq'
import { z } from 'zod'
import type { WorkerDeps } from './deps.js'

/** Validates a job payload at dequeue; a bad payload is permanent, never retried. */
export function parsePayload<S extends z.ZodType>(schema: S, data: unknown): z.output<S> {
  const parsed = schema.safeParse(data)
  if (!parsed.success) throw new UnrecoverableError(`invalid job payload: ${z.prettifyError(parsed.error)}`)
  return parsed.data
}

/**
 * Worker-private state kept beside the payload in job data (the payload contract in core stays
 * ids only): when the current streak of throttling began, when submitting first failed without
 * a definite answer, and how many polls in a row failed.
 */
export const JobState = z.object({
  throttledSince: z.number().int().optional(),
  /** When the first POST of this import without a definite answer failed (the retry window). */
  transientSince: z.number().int().optional(),
  /**
   * The latest time (epoch ms) the POST of submit attempt `attempt` may have gone out: when it
   * failed without a definite answer, or, where that is not known (a crash, a re-enqueue), when
   * this job first found the import `submitting` after it. An empty marker lookup leads to a new
   * POST only SUBMIT_LOOKUP_SETTLE_MS after it.
   */
  lastPost: z.object({ attempt: z.number().int(), at: z.number().int() }).optional(),
  pollFailures: z.number().int().min(0).optional(),
  /** IMS's progress seen by this import's polls (poll-planner appendProgress), oldest first. */
  progress: z.array(z.object({ atMs: z.number(), percent: z.number() })).optional(),
  /** The last plan's chance that the job has ended by the poll it planned (the poll budget). */
  finishChance: z.number().min(0).max(1).nullable().optional(),
  /** When IMS last answered for this import's job (epoch ms); lost-job grace counts from here. */
  lastKnownAt: z.number().int().optional(),
})
export type JobState = z.infer<typeof JobState>

export function readJobState(data: unknown): JobState {
  const parsed = JobState.safeParse(data)
  return parsed.success ? parsed.data : {}
}

/**
 * The record and target a submit or poll job is about. A missing record or an unconfigured
 * target is permanent for that job (UnrecoverableError), never retried.
 */
export async function loadJobImport(deps: WorkerDeps, importId: string) {
  const record = await deps.store.get(importId)
  if (!record) throw new UnrecoverableError(`import ${importId} not found`)
  const target = deps.targets.get(record.target)
  if (!target) throw new UnrecoverableError(`import ${importId}: target "${record.target}" is not configured`)
  return { record, target, log: deps.log.child({ importId, target: target.name }) }
}
