import { DataDiskImport, ID_PATTERN, ImportRecord, ImportStatus, SystemDiskImport } from '@ims-importer/core'
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
  .discriminatedUnion('type', [
    SystemDiskImport.safeExtend(ServiceFields.shape),
    DataDiskImport.safeExtend(ServiceFields.shape),
  ])
  .meta({
    id: 'ImportRequest',
    description:
      'The IMS quick-import body (system disk: type ECS/BMS or absent; data disk: type DataImage) plus the service fields target, external_id, callback_url',
  })

/** One import as the API shows it: the record without internal fields. */
export const ImportView = ImportRecord.omit({ version: true, tenant: true }).meta({
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
})

export const BatchView = z
  .object({
    ...batchHead,
    rejected: z.array(ItemErrors),
    counts: z.record(ImportStatus, z.number().int()),
    items: z.array(BatchItem),
    next_cursor: z.string().nullable(),
  })
  .meta({ id: 'Batch' })
export type BatchView = z.infer<typeof BatchView>

export const BatchQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().regex(/^\d+$/).optional(),
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
