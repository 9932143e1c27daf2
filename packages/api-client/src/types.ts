import { z } from 'zod'

// The wire contract of the intake API as this client reads it. Objects are loose: fields the API
// adds later pass through untouched, so an older client keeps working against a newer API.

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

export const IMPORT_STATUSES: readonly ImportStatus[] = ImportStatus.options
export const FINAL_STATUSES: readonly ImportStatus[] = ['succeeded', 'failed', 'cancelled']
export const isFinalStatus = (s: ImportStatus): boolean => FINAL_STATUSES.includes(s)

export const FieldError = z.looseObject({
  path: z.string(),
  message: z.string(),
  ims_code: z.string().optional(),
})
export type FieldError = z.infer<typeof FieldError>

/** RFC 9457 problem details, as every error answer of the API carries. */
export const ProblemDetails = z.looseObject({
  type: z.string().default('about:blank'),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  errors: z.array(FieldError).optional(),
  /** POST /v1/batches when no item is valid: the errors of each item by index. */
  item_errors: z.array(z.looseObject({ index: z.number().int(), errors: z.array(FieldError) })).optional(),
})
export type ProblemDetails = z.infer<typeof ProblemDetails>

const nullableString = z.string().nullable().optional()

/**
 * When a running import's IMS job is expected to end (the worker's poll planner): the median
 * `at` and its p10..p90 range, ISO-8601 UTC. Null while nothing is known and once final.
 */
export const ExpectedFinish = z.looseObject({
  at: z.string(),
  p10_at: z.string(),
  p90_at: z.string(),
  /** What it rests on: IMS's progress, the target's history of durations, or both. */
  basis: z.enum(['history', 'progress', 'progress+history']),
  /** When it was estimated (the last poll that saw the job running). */
  estimated_at: z.string(),
})
export type ExpectedFinish = z.infer<typeof ExpectedFinish>

/** The image file as the service's pre-flight found it in OBS before submitting. */
export const ImageFile = z.looseObject({
  size_bytes: z.number().int().nonnegative(),
  /** OBS storage class (STANDARD, WARM, COLD, DEEP_ARCHIVE); null when OBS did not say. */
  storage_class: nullableString,
  /** The bucket's region; null when OBS did not say. */
  region: nullableString,
  checked_at: z.string(),
})
export type ImageFile = z.infer<typeof ImageFile>

export const ImportView = z.looseObject({
  id: z.string(),
  status: ImportStatus,
  target: z.string(),
  external_id: nullableString,
  batch_id: nullableString,
  created_at: z.string(),
  updated_at: z.string().optional(),
  ims: z
    .looseObject({
      job_id: nullableString,
      job_status: nullableString,
      image_id: nullableString,
      error_code: nullableString,
      fail_reason: nullableString,
    })
    .optional(),
  error: z
    .looseObject({ source: z.string(), code: z.string().optional(), message: z.string() })
    .nullable()
    .optional(),
  /** Absent from APIs older than the field. */
  expected_finish: ExpectedFinish.nullable().optional(),
  /** Null until the pre-flight checked the file (or without pre-flight); absent from older APIs. */
  file: ImageFile.nullable().optional(),
})
export type ImportView = z.infer<typeof ImportView>

export const ImportPage = z.looseObject({
  items: z.array(ImportView),
  next_cursor: z.string().nullable(),
})
export type ImportPage = z.infer<typeof ImportPage>

/** One quick-import body (as on the IMS API page) plus the service fields the API strips off. */
export type ImportRequest = Record<string, unknown> & {
  target?: string
  external_id?: string
  callback_url?: string
}

/** Items of a batch refused by validation, by their index in the request's `items`. */
export const ItemErrors = z.looseObject({
  index: z.number().int(),
  errors: z.array(FieldError),
})
export type ItemErrors = z.infer<typeof ItemErrors>

/** What both answers about a batch (created, viewed) start with. */
const BATCH_FIELDS = {
  id: z.string(),
  external_id: nullableString,
  created_at: z.string(),
  /** How many items became imports. */
  accepted: z.number().int(),
}

/** The 202 answer of POST /v1/batches. */
export const BatchCreated = z.looseObject({
  ...BATCH_FIELDS,
  /** How many items were refused. */
  rejected: z.number().int(),
  imports: z.array(z.looseObject({ index: z.number().int(), id: z.string(), target: z.string() })),
  errors: z.array(ItemErrors),
})
export type BatchCreated = z.infer<typeof BatchCreated>

export const StatusCounts = z.partialRecord(ImportStatus, z.number().int())
export type StatusCounts = Partial<Record<ImportStatus, number>>

export const BatchItem = z.looseObject({
  index: z.number().int(),
  id: z.string(),
  status: ImportStatus,
  target: z.string(),
  external_id: nullableString,
  image_id: nullableString,
  error: z
    .looseObject({ source: z.string(), code: z.string().optional(), message: z.string() })
    .nullable()
    .optional(),
  expected_finish: ExpectedFinish.nullable().optional(),
  /** The image file's size in bytes; null until the pre-flight checked it; absent from older APIs. */
  file_size_bytes: z.number().int().nonnegative().nullable().optional(),
})
export type BatchItem = z.infer<typeof BatchItem>

/**
 * When a batch is expected to end (its running imports' expected ends, its queued ones on the
 * places these free). `complete: false`: some import's expectation is unknown, `at` is a lower bound.
 */
export const BatchExpectedFinish = z.looseObject({ at: z.string(), complete: z.boolean() })
export type BatchExpectedFinish = z.infer<typeof BatchExpectedFinish>

/**
 * The bytes of a batch's image files: the known sizes of the page's items, how many of them are
 * not known yet, and the batch's sum when the page holds every item (else null).
 */
export const BatchBytes = z.looseObject({
  page: z.number().int().nonnegative(),
  page_unknown: z.number().int().nonnegative(),
  total: z.number().int().nonnegative().nullable(),
})
export type BatchBytes = z.infer<typeof BatchBytes>

/** GET /v1/batches/{id}: counts by state and one page of its imports (by item index). */
export const BatchView = z.looseObject({
  ...BATCH_FIELDS,
  rejected: z.array(ItemErrors),
  counts: StatusCounts,
  /** Null once every import is final or while nothing is known; absent from older APIs. */
  expected_finish: BatchExpectedFinish.nullable().optional(),
  /** Absent from APIs older than the field. */
  bytes: BatchBytes.optional(),
  items: z.array(BatchItem),
  next_cursor: z.string().nullable(),
})
export type BatchView = z.infer<typeof BatchView>

export interface ListImportsQuery {
  status?: ImportStatus
  target?: string
  external_id?: string
  batch_id?: string
  limit?: number
  cursor?: string
}
