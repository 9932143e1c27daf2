import type { FastifyInstance } from 'fastify'
import { imsFailure } from '../error-bodies.js'
import type { Gateway } from '../gateway.js'
import type { ImageStore } from '../image-store.js'
import type { SimulatorSettings } from '../options.js'

export interface QuotaRouteDeps {
  settings: SimulatorSettings
  store: ImageStore
  gateway: Gateway
}

/** The OTC page's example bounds (`"min": 1, "max": 1000`), widened when the quota is set outside them. */
const QUOTA_MIN = 1
const QUOTA_MAX = 1000

/**
 * `GET /v1/cloudimages/quota` ("Querying the Image Quota": private images used and allowed in the
 * region) and `DELETE /v2/images/{image_id}` (deleting an image frees its place in the quota).
 */
export function registerQuotaRoutes(app: FastifyInstance, deps: QuotaRouteDeps): void {
  const { settings, store, gateway } = deps
  app.get('/v1/cloudimages/quota', gateway.forOperation('getQuota'), async (request, reply) => {
    const quota = settings.imageQuota
    return gateway.respond(request, reply, 200, {
      quotas: {
        resources: [
          {
            type: 'image',
            used: store.imageCount(),
            quota,
            min: Math.min(QUOTA_MIN, quota),
            max: Math.max(QUOTA_MAX, quota),
          },
        ],
      },
    })
  })

  app.delete<{ Params: { image_id: string } }>(
    '/v2/images/:image_id',
    gateway.forOperation('deleteImage'),
    async (request, reply) => {
      const outcome = store.delete(request.params.image_id, Date.now())
      if (outcome === 'deleted') return gateway.respond(request, reply, 204, undefined)
      const { body } = imsFailure(outcome === 'busy' ? 'IMG.0090' : 'IMG.0027')
      // Glance answers an unknown image with 404; IMS's table lists IMG.0090 under 400.
      return gateway.respond(request, reply, outcome === 'busy' ? 400 : 404, body)
    },
  )
}
