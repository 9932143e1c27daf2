import { z } from 'zod'

/**
 * BullMQ job payloads. Each is validated when enqueued and again when dequeued; a payload
 * that fails validation is an UnrecoverableError, never retried. Payloads carry ids only:
 * the import record in the store is the source of truth (and no secret ever enters job data).
 */
export const SubmitJob = z.object({ importId: z.string().min(1) })
export type SubmitJob = z.infer<typeof SubmitJob>

export const PollJob = z.object({
  importId: z.string().min(1),
  /** Poll number for this import, starting at 1; drives the backoff schedule. */
  attempt: z.number().int().positive().default(1),
})
export type PollJob = z.infer<typeof PollJob>

export const CallbackJob = z.object({ importId: z.string().min(1) })
export type CallbackJob = z.infer<typeof CallbackJob>
