import { z } from 'zod'
import type { ImsImage, ImsImageQuota, ImsJob } from './types.js'

// Shapes of the successful answers (ims-api.md §1, §4a, §7 and the quick-import API page).
// Loose where IMS may add fields; strict only on what the client relies on.

export const QuickImportResponse = z.object({ job_id: z.string().min(1) })

const Entities = z.record(z.string(), z.unknown())

export const JobResponse = z.object({
  job_id: z.string().min(1).optional(),
  job_type: z.string().nullish(),
  status: z.enum(['INIT', 'RUNNING', 'SUCCESS', 'FAIL']),
  begin_time: z.string().nullish(),
  end_time: z.string().nullish(),
  error_code: z.string().nullish(),
  fail_reason: z.string().nullish(),
  entities: Entities.nullish(),
})

const Image = z.looseObject({
  id: z.string().min(1),
  name: z.string(),
  status: z.string(),
  tags: z.array(z.string()).catch([]),
  created_at: z.string().nullish(),
})

export const ListImagesResponse = z.object({ images: z.array(Image) })

const QuotaResource = z.object({
  type: z.string(),
  used: z.number().int().min(0),
  quota: z.number().int().min(0),
  min: z.number().int().nullish(),
  max: z.number().int().nullish(),
})

/** "Querying the Image Quota": `{"quotas":{"resources":[{"type":"image","used":0,"quota":20,"min":1,"max":1000}]}}`. */
export const QuotaResponse = z.object({
  quotas: z.object({
    resources: z
      .array(QuotaResource.loose())
      .refine((resources) => resources.some((r) => r.type === 'image'), 'no resource of type image'),
  }),
})

export const TokenResponse = z.object({
  token: z.object({ expires_at: z.string(), issued_at: z.string().optional() }),
})

function imageIdOf(entities: Record<string, unknown>): string | null {
  if (typeof entities.image_id === 'string' && entities.image_id !== '') return entities.image_id
  const subJobs = entities.sub_jobs_result
  if (!Array.isArray(subJobs)) return null
  for (const sub of subJobs) {
    const id = (sub as { entities?: { image_id?: unknown } } | null)?.entities?.image_id
    if (typeof id === 'string' && id !== '') return id
  }
  return null
}

function progressOf(entities: Record<string, unknown>): number | null {
  const raw = entities.process_percent
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw
  if (typeof value !== 'number' || !Number.isFinite(value)) return null
  return Math.min(100, Math.max(0, value))
}

export function toImsJob(requestedId: string, body: z.output<typeof JobResponse>): ImsJob {
  const entities = body.entities ?? {}
  return {
    job_id: body.job_id ?? requestedId,
    job_type: body.job_type ?? null,
    status: body.status,
    begin_time: body.begin_time ?? null,
    end_time: body.end_time ?? null,
    error_code: body.error_code ?? null,
    fail_reason: body.fail_reason ?? null,
    entities,
    image_id: imageIdOf(entities),
    progress: progressOf(entities),
  }
}

export function toImsImage(image: z.output<typeof Image>): ImsImage {
  return { ...image, created_at: image.created_at ?? null }
}

export function toImsImageQuota(body: z.output<typeof QuotaResponse>): ImsImageQuota {
  const image = body.quotas.resources.find((r) => r.type === 'image')
  if (image === undefined) throw new Error('unreachable: QuotaResponse requires an image resource')
  return { used: image.used, quota: image.quota, min: image.min ?? null, max: image.max ?? null }
}
