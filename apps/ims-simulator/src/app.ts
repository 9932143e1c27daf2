import Fastify, { type FastifyInstance } from 'fastify'
import { createAuthenticator } from './auth.js'
import { gatewayBody, sendApiNotFound } from './error-bodies.js'
import { createGateway } from './gateway.js'
import { createImageStore, jobStatus } from './image-store.js'
import { createObsStore } from './obs/obs-store.js'
import { resolveSettings, type SimulatorControl, type SimulatorOptions } from './options.js'
import type { AcceptedQuickImport } from './quick-import-validation.js'
import { createRng } from './rng.js'
import { registerControlRoutes } from './routes/control.js'
import { registerIamRoutes } from './routes/iam.js'
import { registerImageRoutes } from './routes/images.js'
import { registerJobRoutes } from './routes/jobs.js'
import { registerObsRoutes } from './routes/obs.js'
import { registerQuickImportRoute } from './routes/quick-import.js'
import { registerQuotaRoutes } from './routes/quota.js'
import {
  type CreateCounts,
  createStateWriter,
  describeStateLoad,
  loadStateFile,
  type SimulatorState,
} from './state-file.js'
import { createRateLimiter, createTraffic } from './traffic.js'

/** The gateway accepts AK/SK bodies up to 12 MB (APIG.0201 413 beyond). */
const BODY_LIMIT_BYTES = 12 * 1024 * 1024

/** A private image the project held before the simulator saw any request (see setImageCount). */
function existingImage(n: number): AcceptedQuickImport {
  return {
    variant: 'system',
    name: `sim-existing-${n}`,
    description: '',
    type: 'ECS',
    osVersion: 'CentOS 7.0 64bit',
    osType: 'Linux',
    bucket: 'sim-existing',
    objectKey: `image-${n}.zvhd2`,
    diskFormat: 'zvhd2',
    minDisk: 40,
    tags: [],
    enterpriseProjectId: '0',
    architecture: 'x86',
    firmware: 'bios',
  }
}

/** Builds the simulator (IAM + API gateway + IMS) as one Fastify app, without opening a port. */
export function buildSimulator(options: SimulatorOptions = {}): {
  app: FastifyInstance
  control: SimulatorControl
} {
  const settings = resolveSettings(options)
  // Kept across restarts when there is a state file (state-file.ts: what, and why not a new namespace).
  const stateLog = options.stateLog ?? ((line: string) => process.stderr.write(`${line}\n`))
  const loaded = options.stateFile === undefined ? null : loadStateFile(options.stateFile)
  if (loaded) stateLog(describeStateLoad(loaded))
  const saved = loaded?.kind === 'loaded' ? loaded.state : null
  const rng = createRng(saved?.rngState ?? options.seed)
  const writer =
    options.stateFile === undefined
      ? null
      : createStateWriter(
          options.stateFile,
          (): SimulatorState => ({
            version: 1,
            savedAt: new Date().toISOString(),
            rngState: rng.state(),
            store: store.snapshot(),
            existingSeq,
            creates,
          }),
          stateLog,
        )
  const store = createImageStore(rng, () => writer?.changed())
  const obs = createObsStore(options.obs, settings.region)
  const traffic = createTraffic()
  const limiter = createRateLimiter()
  const auth = createAuthenticator(settings)
  const gateway = createGateway({ settings, rng, traffic, limiter, auth })
  const creates: CreateCounts = saved?.creates ?? {
    byMarker: {},
    byName: {},
    total: 0,
    peak: 0,
    refusedForQuota: 0,
  }
  let existingSeq = saved?.existingSeq ?? 0

  const control: SimulatorControl = {
    reset() {
      store.clear()
      existingSeq = 0
      obs.reset()
      control.setImageCount(options.existingImages ?? 0)
      traffic.clear()
      limiter.clear()
      auth.clearLockouts()
      creates.byMarker = {}
      creates.byName = {}
      creates.total = 0
      creates.peak = 0
      creates.refusedForQuota = 0
    },
    setFaults(faults) {
      settings.faults = { ...faults }
    },
    setSpeed(speed) {
      if (speed.initMs !== undefined) settings.initMs = speed.initMs
      if (speed.jobDurationMs !== undefined) settings.jobDurationMs = { ...speed.jobDurationMs }
      if (speed.listingDelayMs !== undefined) settings.listingDelayMs = speed.listingDelayMs
    },
    setRateLimits(limits) {
      settings.rateLimits = { ...limits }
    },
    setLimits(limits) {
      if (limits.imageQuota !== undefined) settings.imageQuota = limits.imageQuota
      if (limits.maxConcurrentImports !== undefined)
        settings.maxConcurrentImports = limits.maxConcurrentImports
    },
    setImageCount(count) {
      const now = Date.now()
      while (store.imageCount() < count) {
        // Images the project held before (created by hand, by other tools): finished, no marker.
        const n = ++existingSeq
        store.create(existingImage(n), { initMs: 0, durationMs: 0 }, now - 1000)
      }
      for (const image of [...store.images()].sort((a, b) => a.seq - b.seq)) {
        if (store.imageCount() <= count) break
        store.delete(image.id, now)
      }
      return store.imageCount()
    },
    deleteImage: (imageId) => store.delete(imageId, Date.now()),
    counters: () => ({
      createsByMarker: { ...creates.byMarker },
      createsByName: { ...creates.byName },
      totalCreates: creates.total,
      currentConcurrentImports: store.activeImports(Date.now()),
      peakConcurrentImports: creates.peak,
      requests: traffic.requests(),
      responses: traffic.responses(),
    }),
    quota: () => ({
      quota: settings.imageQuota,
      used: store.imageCount(),
      refusedForQuota: creates.refusedForQuota,
    }),
    requestLog: (op) => traffic.log(op),
    obs: {
      putBucket: (bucket) => obs.putBucket(bucket),
      putObject: (bucket, object) => obs.putObject(bucket, object),
      deleteObject: (bucket, key) => obs.deleteObject(bucket, key),
      deleteBucket: (name) => obs.deleteBucket(name),
      snapshot: () => obs.snapshot(),
      setJudging(judging) {
        if (judging.obsJudging !== undefined) settings.obsJudging = judging.obsJudging
        if (judging.importBytesPerSecond !== undefined)
          settings.importBytesPerSecond = judging.importBytesPerSecond
      },
    },
    jobs: () => {
      const now = Date.now()
      return store.jobs().map((job) => ({
        jobId: job.id,
        status: jobStatus(job, now),
        imageId: job.imageId,
        ...(job.marker === undefined ? {} : { marker: job.marker }),
      }))
    },
  }

  // A saved state already holds the images the project had (less those deleted since).
  if (saved) store.restore(saved.store)
  else if (options.existingImages) control.setImageCount(options.existingImages)

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: BODY_LIMIT_BYTES,
    genReqId: () => rng.hex(32),
  })

  // Keep the exact bytes: AK/SK signatures hash them, and IMS answers bad JSON with its own codes.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))

  // Every answer carries the gateway's request id, also those that never reach a route.
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })

  app.setErrorHandler((err: { statusCode?: number }, request, reply) => {
    if (err.statusCode === 413) {
      return reply.code(413).send(gatewayBody('APIG.0201', 'Request entity too large', request.id))
    }
    if (err.statusCode !== undefined && err.statusCode < 500) {
      return reply.code(400).send(gatewayBody('APIG.0201', 'Bad request', request.id))
    }
    request.log.error({ err }, 'simulator error')
    return reply.code(500).send(gatewayBody('APIG.0601', 'Internal server error', request.id))
  })
  app.setNotFoundHandler(sendApiNotFound)

  registerIamRoutes(app, { settings, auth, gateway })
  registerQuickImportRoute(app, {
    settings,
    store,
    obs,
    gateway,
    rng,
    onCreate({ name, marker, concurrent }) {
      creates.total += 1
      creates.byName[name] = (creates.byName[name] ?? 0) + 1
      if (marker !== undefined) creates.byMarker[marker] = (creates.byMarker[marker] ?? 0) + 1
      creates.peak = Math.max(creates.peak, concurrent)
    },
    onQuotaRefusal() {
      creates.refusedForQuota += 1
    },
  })
  registerJobRoutes(app, { settings, store, gateway })
  registerImageRoutes(app, { settings, store, gateway })
  registerQuotaRoutes(app, { settings, store, gateway })
  registerControlRoutes(app, control)
  registerObsRoutes(app, { settings, obs, traffic })
  // Last write of the state file, whatever the delay left pending.
  app.addHook('onClose', async () => writer?.close())

  return { app, control }
}
