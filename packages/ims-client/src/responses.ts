import { z } from 'zod'
import type { ImsImage, ImsJob } from './types.js'

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
