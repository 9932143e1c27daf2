import { IMS_ERROR_CODES } from './data/ims-error-codes.js'
import type { JobDurationSpec } from './options.js'
import type { AcceptedQuickImport, QuickImportTag } from './quick-import-validation.js'
import type { Rng } from './rng.js'

/** The marker tag the service puts on every image it creates. */
export const MARKER_TAG_KEY = 'ims_importer_id'

export type JobStatus = 'INIT' | 'RUNNING' | 'SUCCESS' | 'FAIL'
export type ImageStatus = 'queued' | 'saving' | 'active' | 'killed'

export interface SimImage {
  id: string
  /** Creation order, to break created_at ties (IMS stores whole seconds). */
  seq: number
  createdAtMs: number
  /** The image file's size when the simulator's OBS knows it (`__image_size`), else null. */
  fileSizeBytes: number | null
  request: AcceptedQuickImport
  job: SimJob
}

export interface SimJob {
  id: string
  imageId: string
  marker?: string
  jobType: 'imsImportImageJob' | 'imsImportDataImageJob'
  beginAt: number
  runningAt: number
  endAt: number
  failCode: string | null
}

export interface CreateTiming {
  initMs: number
  durationMs: number
  /** How the job ends when not by the object key's `fail-img-NNNN`: IMS's verdict on the file. */
  failCode?: string | null
  fileSizeBytes?: number | null
}

/**
 * Images and their import jobs. Jobs advance by time alone: status is computed from timestamps on
 * every read, so there are no timers to leak and reset() simply forgets everything.
 */
export interface ImageStore {
  create(request: AcceptedQuickImport, timing: CreateTiming, now: number): SimImage
  images(): SimImage[]
  image(imageId: string): SimImage | undefined
  job(jobId: string): SimJob | undefined
  jobs(): SimJob[]
  imageCount(): number
  activeImports(now: number): number
  /**
   * Deletes an image (IMS frees its quota place). An image whose job has not ended cannot be deleted
   * (IMG.0090 "The image being created cannot be deleted."). Its job stays queryable.
   */
  delete(imageId: string, now: number): 'deleted' | 'not-found' | 'busy'
  clear(): void
  /** Everything the store holds, as plain data (the state file, state-file.ts). */
  snapshot(): ImageStoreSnapshot
  /** Replaces everything the store holds with a snapshot (jobs keep their timestamps). */
  restore(snapshot: ImageStoreSnapshot): void
}

export interface ImageStoreSnapshot {
  /** The next image's `seq`. */
  seq: number
  /** Every image created, deleted ones included (their job still answers), in creation order. */
  images: SimImage[]
  /** The images the project holds now (not deleted), in `images()` order. */
  heldImageIds: string[]
}

export function jobStatus(job: SimJob, now: number): JobStatus {
  if (now < job.runningAt) return 'INIT'
  if (now < job.endAt) return 'RUNNING'
  return job.failCode === null ? 'SUCCESS' : 'FAIL'
}

export function imageStatus(job: SimJob, now: number): ImageStatus {
  const status = jobStatus(job, now)
  return status === 'INIT'
    ? 'queued'
    : status === 'RUNNING'
      ? 'saving'
      : status === 'SUCCESS'
        ? 'active'
        : 'killed'
}

export function markerOf(tags: QuickImportTag[]): string | undefined {
  return tags.find((t) => t.key === MARKER_TAG_KEY)?.value
}

/** An object key containing `fail-img-NNNN` makes the job end FAIL with IMG.NNNN. */
export function failCodeFor(objectKey: string): string | null {
  const m = /fail-img-(\d{4})/.exec(objectKey)
  return m ? `IMG.${m[1]}` : null
}

/** z of the 99th percentile of the standard normal: a lognormal's `max` sits there. */
const Z_99 = 2.3263

/**
 * A job's RUNNING time (ms) drawn from `spec`. The uniform draw is one `rng.int`, as before, so
 * seeded runs keep their durations.
 */
export function drawJobDurationMs(spec: JobDurationSpec, rng: Rng): number {
  const { min, max } = spec
  if ((spec.distribution ?? 'uniform') === 'uniform' || max <= min) return rng.int(min, max)
  const median = Math.min(max, Math.max(min, spec.median ?? Math.sqrt(Math.max(1, min) * max)))
  const sigma = Math.log(max / median) / Z_99 || 0.5
  // Truncated by drawing again: the law's shape inside [min, max] stays that of the lognormal.
  for (let i = 0; i < 64; i++) {
    // Box-Muller; 1 - next() is in (0, 1], so the log is finite.
    const z = Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next())
    const ms = Math.round(median * Math.exp(sigma * z))
    if (ms >= min && ms <= max) return ms
  }
  return Math.round(median)
}

export function failReason(code: string): string {
  return IMS_ERROR_CODES[code]?.message ?? 'Unknown system error.'
}

/** `onChange` is told after every create, delete and clear (the state file writes then). */
export function createImageStore(rng: Rng, onChange: () => void = () => {}): ImageStore {
  const images: SimImage[] = []
  const jobsById = new Map<string, SimJob>()
  const imagesById = new Map<string, SimImage>()
  // Jobs not yet known to have ended; pruned lazily so counting stays cheap.
  let active: SimJob[] = []
  let seq = 0

  return {
    create(request, timing, now) {
      const imageId = rng.uuid()
      const job: SimJob = {
        id: rng.hex(32),
        imageId,
        jobType: request.variant === 'data' ? 'imsImportDataImageJob' : 'imsImportImageJob',
        beginAt: now,
        runningAt: now + timing.initMs,
        endAt: now + timing.initMs + timing.durationMs,
        failCode: failCodeFor(request.objectKey) ?? timing.failCode ?? null,
      }
      const marker = markerOf(request.tags)
      if (marker !== undefined) job.marker = marker
      const image: SimImage = {
        id: imageId,
        seq: seq++,
        createdAtMs: now,
        fileSizeBytes: timing.fileSizeBytes ?? null,
        request,
        job,
      }
      images.push(image)
      imagesById.set(imageId, image)
      jobsById.set(job.id, job)
      active.push(job)
      onChange()
      return image
    },
    images: () => images,
    // Deleted images stay here, so their job still answers with its image name.
    image: (imageId) => imagesById.get(imageId),
    job: (jobId) => jobsById.get(jobId),
    jobs: () => [...jobsById.values()],
    imageCount: () => images.length,
    activeImports(now) {
      active = active.filter((job) => now < job.endAt)
      return active.length
    },
    delete(imageId, now) {
      const index = images.findIndex((image) => image.id === imageId)
      const image = images[index]
      if (image === undefined) return 'not-found'
      if (now < image.job.endAt) return 'busy'
      images.splice(index, 1)
      onChange()
      return 'deleted'
    },
    clear() {
      images.length = 0
      jobsById.clear()
      imagesById.clear()
      active = []
      seq = 0
      onChange()
    },
    snapshot: () => ({ seq, images: [...imagesById.values()], heldImageIds: images.map((i) => i.id) }),
    restore(snapshot) {
      images.length = 0
      jobsById.clear()
      imagesById.clear()
      for (const image of snapshot.images) {
        imagesById.set(image.id, image)
        jobsById.set(image.job.id, image.job)
      }
      for (const id of snapshot.heldImageIds) {
        const image = imagesById.get(id)
        if (image) images.push(image)
      }
      active = [...jobsById.values()]
      seq = snapshot.seq
    },
  }
}
