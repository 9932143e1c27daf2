import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { imsFailure } from '../error-bodies.js'
import type { Gateway } from '../gateway.js'
import { failReason, type ImageStore, jobStatus, type SimJob } from '../image-store.js'
import type { SimulatorSettings } from '../options.js'

export interface JobRouteDeps {
  settings: Pick<SimulatorSettings, 'reportProgress'>
  store: ImageStore
  gateway: Gateway
}

/**
 * The job as `GET /v1/{project_id}/jobs/{job_id}` documents it (ims-api.md §1). Without
 * `reportProgress` a RUNNING job carries no `process_percent` (OTC may not report it).
 */
export function jobView(job: SimJob, imageName: string, now: number, reportProgress = true) {
  const status = jobStatus(job, now)
  const ended = status === 'SUCCESS' || status === 'FAIL'
  const entities: Record<string, unknown> = {}
  if (status !== 'INIT') {
    entities.image_id = job.imageId
    entities.image_name = imageName
  }
  if (status === 'RUNNING') {
    entities.current_task = 'imsImportImageTask'
    if (reportProgress) {
      const percent = Math.floor(((now - job.runningAt) / Math.max(1, job.endAt - job.runningAt)) * 100)
      entities.process_percent = Math.min(99, Math.max(0, percent))
    }
  }
  return {
    status,
    job_id: job.id,
    job_type: job.jobType,
    begin_time: new Date(job.beginAt).toISOString(),
    end_time: ended ? new Date(job.endAt).toISOString() : null,
    error_code: status === 'FAIL' ? job.failCode : null,
    fail_reason: status === 'FAIL' && job.failCode ? failReason(job.failCode) : null,
    entities,
  }
}

export function registerJobRoutes(app: FastifyInstance, deps: JobRouteDeps): void {
  const { settings, store, gateway } = deps
  const handler = async (request: FastifyRequest<{ Params: { job_id: string } }>, reply: FastifyReply) => {
    const job = store.job(request.params.job_id)
    const image = job ? store.image(job.imageId) : undefined
    if (!job || !image) {
      // The OTC page lists no 404 for an unknown job; the task's contract asks for one, with an IMS body.
      const { body } = imsFailure('IMG.0023')
      return gateway.respond(request, reply, 404, body)
    }
    return gateway.respond(
      request,
      reply,
      200,
      jobView(job, image.request.name, Date.now(), settings.reportProgress),
    )
  }
  app.get<{ Params: { project_id: string; job_id: string } }>(
    '/v1/:project_id/jobs/:job_id',
    gateway.forOperation('getJob', (request) => (request.params as { project_id: string }).project_id),
    handler,
  )
  // The HWC form: the job id alone, no project id in the path.
  app.get<{ Params: { job_id: string } }>(
    '/v1/cloudimages/job/:job_id',
    gateway.forOperation('getJob'),
    handler,
  )
}
