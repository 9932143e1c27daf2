import { z } from 'zod'

/** Lifecycle of one import. Final states never change again. */
export const ImportStatus = z.enum([
  'queued',
  'submitting',
  'submitted',
  'running',
  'succeeded',
  'failed',
  'cancelled',
])
export type ImportStatus = z.infer<typeof ImportStatus>

export const FINAL_STATUSES: readonly ImportStatus[] = ['succeeded', 'failed', 'cancelled']
export const isFinal = (s: ImportStatus): boolean => FINAL_STATUSES.includes(s)

/**
 * Legal moves. A state listed under itself may be re-entered to record progress or a new
 * attempt without changing state (history is appended only on a change of state).
 * - submitting -> queued: a submit attempt ended without reaching IMS and will be retried.
 * - submitted -> submitting: never (a job id exists; we only follow it).
 */
export const TRANSITIONS: Readonly<Record<ImportStatus, readonly ImportStatus[]>> = {
  queued: ['queued', 'submitting', 'cancelled', 'failed'],
  submitting: ['submitting', 'queued', 'submitted', 'running', 'succeeded', 'failed'],
  submitted: ['submitted', 'running', 'succeeded', 'failed'],
  running: ['running', 'succeeded', 'failed'],
  succeeded: [],
  failed: [],
  cancelled: [],
}

/** preflight: the worker's check of the image file in OBS before IMS sees the import. */
export const ErrorSource = z.enum(['validation', 'ims', 'service', 'preflight'])
export type ErrorSource = z.infer<typeof ErrorSource>

export const ImportError = z.object({
  source: ErrorSource,
  /** IMS error code (IMG.xxxx / APIG.xxxx) or a service code such as `deadline_exceeded`. */
  code: z.string().optional(),
  message: z.string(),
})
export type ImportError = z.infer<typeof ImportError>

export const HistoryEntry = z.object({
  status: ImportStatus,
  at: z.string(),
  reason: z.string().optional(),
})
export type HistoryEntry = z.infer<typeof HistoryEntry>

export const ImsState = z.object({
  job_id: z.string().nullable(),
  job_status: z.string().nullable(),
  image_id: z.string().nullable(),
  error_code: z.string().nullable(),
  fail_reason: z.string().nullable(),
  progress: z.number().nullable(),
  /** True when the image was found by its marker tag after an uncertain POST and followed by image status. */
  adopted: z.boolean(),
})
export type ImsState = z.infer<typeof ImsState>

export const CallbackState = z.object({
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  last_error: z.string().nullable(),
  delivered_at: z.string().nullable(),
})
export type CallbackState = z.infer<typeof CallbackState>

/**
 * When the running import's IMS job is expected to end (poll planner, docs/poll-planner.md):
 * the median and the p10..p90 range, from IMS's progress and/or the target's duration history.
 * Written by the worker at each poll; absent on records of earlier releases and while unknown.
 */
export const ExpectedFinish = z.object({
  at: z.string(),
  p10_at: z.string(),
  p90_at: z.string(),
  basis: z.enum(['history', 'progress', 'progress+history']),
  /** When this expectation was made (the poll that saw the job running). */
  estimated_at: z.string(),
})
export type ExpectedFinish = z.infer<typeof ExpectedFinish>

/**
 * Why a queued import is not being submitted although it could be: its target's submissions are
 * paused (today only for the image quota, IMS IMG.0015). Cleared when the import is submitted.
 */
export const WaitingState = z.object({
  reason: z.enum(['image_quota']),
  /** The IMS code that paused the target, e.g. IMG.0015. */
  code: z.string().nullable(),
  message: z.string(),
  since: z.string(),
})
export type WaitingState = z.infer<typeof WaitingState>

/**
 * The image file as the worker's pre-flight found it in OBS (HEAD of the object, the bucket's
 * location and storage class). Absent on records of earlier releases and where no check ran.
 */
export const FileInfo = z.object({
  size_bytes: z.number().int().nonnegative(),
  /** OBS storage class (STANDARD, WARM, COLD, DEEP_ARCHIVE), null when OBS did not say. */
  storage_class: z.string().nullable(),
  /** The bucket's region (location), null when OBS did not say. */
  region: z.string().nullable(),
  checked_at: z.string(),
})
export type FileInfo = z.infer<typeof FileInfo>

/** One import as stored in Redis and as shown by `GET /v1/imports/{id}`. Times are ISO-8601 UTC. */
export const ImportRecord = z.object({
  id: z.string(),
  tenant: z.string(),
  target: z.string(),
  status: ImportStatus,
  /** Incremented by every write; the store refuses a write based on a stale version. */
  version: z.number().int(),
  /** The IMS quick-import body as the caller sent it (validated); the marker tag is added at submit. */
  request: z.record(z.string(), z.unknown()),
  external_id: z.string().nullable(),
  batch_id: z.string().nullable(),
  callback_url: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  submitted_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  attempts: z.object({ submit: z.number().int(), poll: z.number().int() }),
  ims: ImsState,
  error: ImportError.nullable(),
  callback: CallbackState.nullable(),
  history: z.array(HistoryEntry),
  /** Optional (records written before these fields existed stay readable). */
  expected_finish: ExpectedFinish.nullable().optional(),
  waiting: WaitingState.nullable().optional(),
  file: FileInfo.nullable().optional(),
})
export type ImportRecord = z.infer<typeof ImportRecord>

/** Fields a transition may set besides the status. */
export type ImportPatch = Partial<
  Pick<
    ImportRecord,
    | 'submitted_at'
    | 'finished_at'
    | 'error'
    | 'callback'
    | 'attempts'
    | 'target'
    | 'expected_finish'
    | 'waiting'
    | 'file'
  >
> & { ims?: Partial<ImsState> }

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: ImportStatus,
    readonly to: ImportStatus,
    readonly importId: string,
  ) {
    super(`import ${importId}: illegal transition ${from} -> ${to}`)
    this.name = 'IllegalTransitionError'
  }
}

export interface NewImport {
  id: string
  tenant: string
  target: string
  request: Record<string, unknown>
  external_id?: string | null
  batch_id?: string | null
  /**
   * The item's index in its batch: its score in the batch's index of imports (GET
   * /v1/batches/{id} pages by it). Not stored in the record; without one, after the batch's last.
   */
  batch_index?: number
  callback_url?: string | null
}

export function newImportRecord(input: NewImport, now: Date = new Date()): ImportRecord {
  const at = now.toISOString()
  return {
    id: input.id,
    tenant: input.tenant,
    target: input.target,
    status: 'queued',
    version: 1,
    request: input.request,
    external_id: input.external_id ?? null,
    batch_id: input.batch_id ?? null,
    callback_url: input.callback_url ?? null,
    created_at: at,
    updated_at: at,
    submitted_at: null,
    finished_at: null,
    attempts: { submit: 0, poll: 0 },
    ims: {
      job_id: null,
      job_status: null,
      image_id: null,
      error_code: null,
      fail_reason: null,
      progress: null,
      adopted: false,
    },
    error: null,
    callback: input.callback_url
      ? { status: 'pending', attempts: 0, last_error: null, delivered_at: null }
      : null,
    history: [{ status: 'queued', at }],
  }
}

/**
 * A patch field set to `undefined` (`{ error: maybeError }`) means "not given": spreading it
 * would replace a nullable field with undefined, which JSON then drops and the schema refuses.
 */
function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>
}

export function canTransition(from: ImportStatus, to: ImportStatus): boolean {
  return TRANSITIONS[from].includes(to)
}

/**
 * A final state never changes, but the outcome of delivering its callback is only known
 * afterwards: a final record may be rewritten in place with a patch that holds the callback
 * state and nothing else.
 */
function isCallbackBookkeeping(record: ImportRecord, to: ImportStatus, patch: ImportPatch): boolean {
  if (!isFinal(record.status) || to !== record.status) return false
  const keys = Object.entries(patch)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k)
  return keys.length === 1 && keys[0] === 'callback'
}

/**
 * The one function that moves a record: refuses an illegal move, applies the patch, bumps the
 * version, appends history on a change of state and stamps `finished_at` on a final state.
 * Pure: returns a new record.
 */
export function transition(
  record: ImportRecord,
  to: ImportStatus,
  patch: ImportPatch = {},
  options: { now?: Date; reason?: string } = {},
): ImportRecord {
  if (!canTransition(record.status, to) && !isCallbackBookkeeping(record, to, patch)) {
    throw new IllegalTransitionError(record.status, to, record.id)
  }
  const at = (options.now ?? new Date()).toISOString()
  const { ims, ...rest } = patch
  const next: ImportRecord = {
    ...record,
    ...definedOnly(rest),
    ims: { ...record.ims, ...definedOnly(ims ?? {}) },
    status: to,
    version: record.version + 1,
    updated_at: at,
  }
  if (to !== record.status) {
    const entry: HistoryEntry = options.reason
      ? { status: to, at, reason: options.reason }
      : { status: to, at }
    next.history = [...record.history, entry]
  }
  if (isFinal(to) && !next.finished_at) next.finished_at = at
  // An ended import expects nothing and waits for nothing; a submitted one no longer waits.
  if (isFinal(to)) {
    if (next.expected_finish) next.expected_finish = null
    if (next.waiting) next.waiting = null
  } else if (to !== 'queued' && to !== 'submitting' && next.waiting) next.waiting = null
  return next
}
