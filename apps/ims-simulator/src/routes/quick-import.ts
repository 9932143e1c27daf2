import type { FastifyInstance } from 'fastify'
import { imsFailure } from '../error-bodies.js'
import { type Gateway, rawBody } from '../gateway.js'
import { drawJobDurationMs, type ImageStore, markerOf } from '../image-store.js'
import { judgeImageFile } from '../obs/file-verdict.js'
import type { ObsStore } from '../obs/obs-store.js'
import type { SimulatorSettings } from '../options.js'
import { validateQuickImportBytes } from '../quick-import-validation.js'
import type { Rng } from '../rng.js'

export interface QuickImportRouteDeps {
  settings: SimulatorSettings
  store: ImageStore
  obs: ObsStore
  gateway: Gateway
  rng: Rng
  /** Called after each create, with the concurrency it left, for the peak counter. */
  onCreate: (input: { name: string; marker: string | undefined; concurrent: number }) => void
  /** Called for each POST refused with IMG.0015, for the counters. */
  onQuotaRefusal: () => void
}

/** A bucket named `reject-img-NNNN` makes IMS refuse the POST with IMG.NNNN at once. */
export function rejectCodeFor(bucket: string): string | null {
  const m = /^reject-img-(\d{4})$/.exec(bucket)
  return m ? `IMG.${m[1]}` : null
}

/** Peeks at the marker tag of a body that may be invalid, for the request log only. */
function peekMarker(raw: Buffer | undefined): string | undefined {
  try {
    const body = JSON.parse(raw?.toString('utf8') ?? '') as Record<string, unknown>
    if (Array.isArray(body.image_tags)) {
      const tag = body.image_tags.find((t: { key?: unknown }) => t?.key === 'ims_importer_id')
      if (typeof tag?.value === 'string') return tag.value
    }
    if (Array.isArray(body.tags)) {
      const tag = body.tags.find((t: unknown) => typeof t === 'string' && t.startsWith('ims_importer_id.'))
      if (typeof tag === 'string') return tag.slice('ims_importer_id.'.length)
    }
  } catch {
    // not JSON: no marker to note
  }
  return undefined
}

export function registerQuickImportRoute(app: FastifyInstance, deps: QuickImportRouteDeps): void {
  const { settings, store, obs, gateway, rng, onCreate, onQuotaRefusal } = deps
  app.post(
    '/v2/cloudimages/quickimport/action',
    gateway.forOperation('quickImport'),
    async (request, reply) => {
      const raw = rawBody(request)
      gateway.noteMarker(request, peekMarker(raw))
      const fail = (code: string) => {
        const { status, body } = imsFailure(code)
        return gateway.respond(request, reply, status, body)
      }

      const result = validateQuickImportBytes(raw, { cloud: settings.cloud })
      if (!result.ok) return fail(result.code)
      const accepted = result.value
      const rejectCode = rejectCodeFor(accepted.bucket)
      if (rejectCode) return fail(rejectCode)

      const now = Date.now()
      if (store.imageCount() >= settings.imageQuota) {
        onQuotaRefusal()
        return fail('IMG.0015')
      }
      if (store.activeImports(now) >= settings.maxConcurrentImports) return fail('IMG.0194')

      let durationMs = drawJobDurationMs(settings.jobDurationMs, rng)
      // IMS accepts the POST and judges the file while the job runs (so it ends FAIL, minutes later).
      const verdict = settings.obsJudging ? judgeImageFile(obs, accepted, settings.region) : null
      const sizeBytes =
        verdict?.sizeBytes ?? obs.bucket(accepted.bucket)?.objects.get(accepted.objectKey)?.size ?? null
      if (settings.importBytesPerSecond !== null && settings.importBytesPerSecond > 0 && sizeBytes !== null) {
        durationMs += Math.round((sizeBytes / settings.importBytesPerSecond) * 1000)
      }
      const image = store.create(
        accepted,
        {
          initMs: settings.initMs,
          durationMs,
          failCode: verdict && !verdict.ok ? verdict.code : null,
          fileSizeBytes: sizeBytes,
        },
        now,
      )
      onCreate({ name: accepted.name, marker: markerOf(accepted.tags), concurrent: store.activeImports(now) })
      return gateway.respond(request, reply, 200, { job_id: image.job.id })
    },
  )
}
