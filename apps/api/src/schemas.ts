import {
  DataDiskImport,
  ExpectedFinish,
  FileInfo,
  HwcSystemDiskImport,
  ID_PATTERN,
  ImportRecord,
  ImportStatus,
  SystemDiskImport,
  WaitingState,
} from '@ims-importer/core'
import { z } from 'zod'
import { MAX_EXTERNAL_ID_LENGTH } from './import-request.js'
import { FieldError } from './problem.js'

/*
 * The API's payload schemas. Request bodies of the two POST routes are documented with these
 * schemas but validated in the handlers (parseImportRequest), because their errors must carry
 * IMS codes and batch items are judged one by one.
 */

export const ServiceFields = z.object({
  target: z.string().optional().meta({ description: 'A configured IMS target; default: the first one' }),
  external_id: z
    .string()
    .min(1)
    .max(MAX_EXTERNAL_ID_LENGTH)
    .optional()
    .meta({ description: "The caller's correlation id (not sent to IMS)" }),
  callback_url: z.string().optional().meta({
    description:
      'https URL notified with the final state (not sent to IMS); private, loopback and link-local addresses are refused',
  }),
})

/**
 * POST /v1/imports: the IMS quick-import body itself, exactly as on the IMS API page, plus the
 * optional service fields, which are split off before the body is validated and never sent to IMS.
 */
export const ImportRequestBody = z
  .union([
    SystemDiskImport.safeExtend(ServiceFields.shape),
    HwcSystemDiskImport.safeExtend(ServiceFields.shape),
    DataDiskImport.safeExtend(ServiceFields.shape),
  ])
  .meta({
    id: 'ImportRequest',
    description:
      "The IMS quick-import body (system disk: type ECS/BMS or absent; data disk: type DataImage) plus the service fields target, external_id, callback_url. Judged by the target's cloud: a Huawei Cloud target (cloud hwc) takes the system-disk body with license_type, an Open Telekom Cloud target (the default) refuses that field",
  })

/** When a running import is expected to end, as the API shows it (the record's expected_finish). */
export const ExpectedFinishView = z
  .object({
    at: ExpectedFinish.shape.at.meta({ description: 'Median expected end of the IMS job (ISO-8601 UTC)' }),
    p10_at: ExpectedFinish.shape.p10_at.meta({ description: 'Early end: 10% chance it ends before this' }),
    p90_at: ExpectedFinish.shape.p90_at.meta({ description: 'Late end: 90% chance it ends before this' }),
    basis: ExpectedFinish.shape.basis.meta({
      description:
        "What it rests on: IMS's progress, the target's history of import durations (by min_disk), or both",
    }),
    estimated_at: ExpectedFinish.shape.estimated_at.meta({
      description: 'When it was estimated: the last poll that saw the job running',
    }),
  })
  .meta({
    id: 'ExpectedFinish',
    description:
      "When the running import's IMS job is expected to end, with its p10..p90 range; null while nothing is known (queued, no progress and no history yet) and once final",
  })

/** The image file as the pre-flight found it in OBS. */
export const FileView = FileInfo.extend({
  size_bytes: FileInfo.shape.size_bytes.meta({ description: "The object's size in bytes (OBS HEAD)" }),
  storage_class: FileInfo.shape.storage_class.meta({
    description:
      "The object's OBS storage class (STANDARD, WARM, COLD, DEEP_ARCHIVE); null when OBS did not say",
  }),
  region: FileInfo.shape.region.meta({
    description: "The bucket's region (its OBS location); null when OBS did not say",
  }),
  checked_at: FileInfo.shape.checked_at.meta({ description: 'When OBS was asked (ISO-8601 UTC)' }),
}).meta({
  id: 'ImageFile',
  description:
    "The image file in OBS as the worker's pre-flight found it before submitting (its size tells how long the import will take); null until that check ran, and on targets without OBS access (no pre-flight)",
})

/** One import as the API shows it: the record without internal fields. */
export const ImportView = ImportRecord.omit({ version: true, tenant: true })
  .extend({ expected_finish: ExpectedFinishView.nullable(), file: FileView.nullable() })
  .meta({
    id: 'Import',
    description:
      'One import: status, target, the request as sent to IMS, IMS job state, error, attempts, history',
  })
export type ImportView = z.infer<typeof ImportView>

export const ImportIdParams = z.object({ id: z.string().max(64) })

export const ImportListQuery = z.object({
  status: ImportStatus.optional(),
  target: z.string().max(64).optional(),
  external_id: z.string().max(MAX_EXTERNAL_ID_LENGTH).optional(),
  batch_id: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(512).optional(),
})

export const ImportPage = z
  .object({ items: z.array(ImportView), next_cursor: z.string().nullable() })
  .meta({ id: 'ImportPage' })

export const MAX_BATCH_ITEMS = 1000

export const BatchRequestBody = z
  .object({
    items: z.array(ImportRequestBody).min(1).max(MAX_BATCH_ITEMS),
    external_id: z.string().min(1).max(MAX_EXTERNAL_ID_LENGTH).optional(),
  })
  .meta({ id: 'BatchRequest', description: 'Up to 1000 import bodies; each is validated on its own' })

/** The envelope of a batch body; items are judged one by one afterwards. */
export const BatchEnvelope = z.object({
  items: z.array(z.unknown()).min(1).max(MAX_BATCH_ITEMS),
  external_id: z.string().min(1).max(MAX_EXTERNAL_ID_LENGTH).optional(),
})

export const ItemErrors = z.object({ index: z.number().int(), errors: z.array(FieldError) })

/** What a batch's accepted answer and its view both open with. */
const batchHead = {
  id: z.string(),
  external_id: z.string().nullable(),
  created_at: z.string(),
  accepted: z.number().int(),
}

export const BatchAccepted = z
  .object({
    ...batchHead,
    rejected: z.number().int(),
    imports: z.array(z.object({ index: z.number().int(), id: z.string(), target: z.string() })),
    errors: z.array(ItemErrors),
  })
  .meta({ id: 'BatchAccepted' })
export type BatchAccepted = z.infer<typeof BatchAccepted>

export const BatchItem = z.object({
  index: z.number().int(),
  id: z.string(),
  status: ImportStatus,
  target: z.string(),
  external_id: z.string().nullable(),
  image_id: z.string().nullable(),
  error: ImportRecord.shape.error,
  expected_finish: ExpectedFinishView.nullable(),
  waiting: WaitingState.nullable().meta({
    description:
      "Why a queued import is not submitted yet: its target's submissions are paused (image_quota: IMS's private-image quota is used up, IMG.0015); null otherwise",
  }),
  file_size_bytes: z.number().int().nonnegative().nullable().meta({
    description:
      "The image file's size in bytes, as the pre-flight found it in OBS; null until that check ran or without pre-flight",
  }),
})

/** The bytes of a batch's image files (sizes the pre-flight found), from the records the view reads anyway. */
export const BatchBytes = z
  .object({
    page: z.number().int().nonnegative().meta({
      description: "Sum of the known file sizes of this page's items (bytes)",
    }),
    page_unknown: z.number().int().nonnegative().meta({
      description: "This page's items whose file size is not known yet (not checked yet, or no pre-flight)",
    }),
    total: z.number().int().nonnegative().nullable().meta({
      description:
        'Sum of the known file sizes of the whole batch (bytes): given when this page holds every item of the batch (no cursor, no status filter, no next page: ask with limit=1000), else null',
    }),
  })
  .meta({
    id: 'BatchBytes',
    description: "The size of the batch's image files as the pre-flight found them in OBS",
  })
export type BatchBytes = z.infer<typeof BatchBytes>

/** The batch's queued imports that wait for their target, grouped by target and reason. */
export const BatchWaiting = z
  .object({
    count: z
      .number()
      .int()
      .meta({ description: 'Queued imports of the batch whose target paused their submission' }),
    reasons: z.array(
      WaitingState.extend({ target: z.string(), count: z.number().int() }).meta({
        description: 'One target, reason and code: how many, the earliest `since` and the latest message',
      }),
    ),
  })
  .meta({
    id: 'BatchWaiting',
    description:
      'Imports of the batch that stay queued because their target paused submissions (image_quota: the private-image quota is used up); they go on by themselves when it frees',
  })
export type BatchWaiting = z.infer<typeof BatchWaiting>

/** A batch's expected finish (apps/api/src/batch-finish.ts). */
export const BatchExpectedFinish = z
  .object({
    at: z
      .string()
      .meta({ description: "When the batch's last open import is expected to end (ISO-8601 UTC)" }),
    complete: z.boolean().meta({
      description:
        "False when some open import's expected end or duration is unknown, or it waits for its target's paused submissions: `at` is then a lower bound",
    }),
  })
  .meta({
    id: 'BatchExpectedFinish',
    description:
      "When the batch is expected to end: its running imports' expected ends, then its queued imports taking the places these free, each for its target's median duration at its min_disk (list scheduling on the target's in-flight cap). Null once every import is final, or while nothing is known",
  })

export const BatchView = z
  .object({
    ...batchHead,
    rejected: z.array(ItemErrors),
    counts: z.record(ImportStatus, z.number().int()),
    expected_finish: BatchExpectedFinish.nullable(),
    waiting: BatchWaiting,
    bytes: BatchBytes,
    items: z.array(BatchItem),
    next_cursor: z.string().nullable(),
  })
  .meta({ id: 'Batch' })
export type BatchView = z.infer<typeof BatchView>

export const BatchQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().regex(/^\d+$/).optional(),
  status: ImportStatus.optional().meta({ description: 'Only the items in this status (counts stay whole)' }),
})

export const isWellFormedId = (id: string, prefix: 'imp' | 'bat'): boolean =>
  ID_PATTERN.test(id) && id.startsWith(`${prefix}_`)

/** Headers of the two POST intake routes (loose: every other header passes through untouched). */
export const IdempotencyHeaders = z.looseObject({
  'idempotency-key': z.string().optional().meta({
    description:
      'Same key + same body within 24 h returns the original answer (Idempotent-Replayed: true); a different body is 422; 409 while a failed first request is being undone',
  }),
})
