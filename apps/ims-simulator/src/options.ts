/** The operations the gateway tells apart: rate limits, faults, counters and the request log use these names. */
export const OPERATIONS = ['quickImport', 'getJob', 'listImages', 'auth', 'getQuota', 'deleteImage'] as const
export type Operation = (typeof OPERATIONS)[number]

/** The IMS operations: faults apply to these unless `Faults.operations` says otherwise. */
export const IMS_OPERATIONS: readonly Operation[] = [
  'quickImport',
  'getJob',
  'listImages',
  'getQuota',
  'deleteImage',
]

export interface RateLimit {
  limit: number
  windowMs: number
}

export type RateLimits = Partial<Record<Operation, RateLimit>>

export interface Faults {
  /** Share of requests answered 500 or 503 (gateway/IMS error bodies), nothing processed. */
  errorRate?: number
  /** Share answered 429 APIG.0308 regardless of the rate limit (a "429 storm"). */
  throttleRate?: number
  /** Added before answering, in ms. */
  latencyMs?: number
  /** Share whose connection is destroyed before processing (nothing created). */
  resetBeforeRate?: number
  /** Share processed (image/job created) then the connection destroyed before answering: the uncertain case. */
  resetAfterRate?: number
  /** Share answered 200 with a truncated, non-JSON body (only requests that would have been answered 200). */
  malformedJsonRate?: number
  /** Which operations faults apply to; default all IMS operations (not auth). */
  operations?: Operation[]
}

import type { ObsBucketSeed, ObsObjectSeed, ObsSeed } from './obs/obs-store.js'

/**
 * How a job's RUNNING time is drawn, in ms, always within [min, max]. 'uniform' (default): every
 * value equally likely. 'lognormal': a long tail, as import times of disks of mixed sizes; median
 * `median` (default the geometric mean of min and max), spread such that `max` is the 99th
 * percentile of the untruncated law; draws outside [min, max] are drawn again (image-store.ts).
 */
export interface JobDurationSpec {
  min: number
  max: number
  distribution?: 'uniform' | 'lognormal'
  median?: number
}

export interface SimulatorOptions {
  /** 0 (default) = a free port. */
  port?: number
  /** Default 127.0.0.1. */
  host?: string
  /** Default 'sim-project'. */
  projectId?: string
  /** The project name IAM accepts in `scope.project.name`; default the project id. */
  projectName?: string
  /** Default [{ name: 'sim-user', password: 'sim-password', domain: 'sim-domain' }]. */
  users?: { name: string; password: string; domain: string }[]
  /** Default [{ ak: 'SIMAK0000000000000001', sk: 'sim-secret-key' }]. */
  credentials?: { ak: string; sk: string }[]
  /** Token lifetime in ms; default 24 h. */
  tokenTtlMs?: number
  /** How long a job stays INIT before RUNNING, in ms; default 200. */
  initMs?: number
  /** RUNNING time of an import job in ms; default { min: 1000, max: 3000 }, drawn uniformly. */
  jobDurationMs?: JobDurationSpec
  /**
   * Whether a RUNNING job's view carries `entities.process_percent`; default true. OTC's job API
   * may not report progress: false answers RUNNING jobs without it.
   */
  reportProgress?: boolean
  /**
   * How long after its POST an image first shows in `GET /v2/cloudimages`, in ms; default 0. IMS
   * does not document when the image of an accepted quick import is listed (its job starts in
   * INIT, "still being initialised"): a delay shows what a caller that looks an image up by its
   * marker tag right after an uncertain POST would miss.
   */
  listingDelayMs?: number
  /**
   * Private images allowed: the quick-import POST answers IMG.0015 once the project holds this many
   * images, and `GET /v1/cloudimages/quota` reports it; default 10000.
   */
  imageQuota?: number
  /**
   * Private images the project already holds at start (and again after `reset()`): finished images
   * named `sim-existing-N`, counted by the quota and listed; default 0.
   */
  existingImages?: number
  /** Jobs INIT/RUNNING allowed at once (IMG.0194 beyond); default 40. */
  maxConcurrentImports?: number
  /** Gateway sliding-window limits per operation -> 429 APIG.0308; default none. */
  rateLimits?: RateLimits
  /** When set, 429 answers carry `Retry-After: <seconds>` (the real gateway sends none). */
  retryAfterSeconds?: number
  faults?: Faults
  /** Makes random choices (durations, fault draws, ids) reproducible. */
  seed?: number
  /** Fastify logging; default false. */
  logger?: boolean
  /**
   * Which cloud the simulator plays: 'otc' (default) or 'hwc' (Huawei Cloud), whose quick-import
   * body also takes `license_type`. Both serve the job at `/v1/{project_id}/jobs/{job_id}` and at
   * HWC's `/v1/cloudimages/job/{job_id}` (served for either cloud, as before).
   */
  cloud?: 'otc' | 'hwc'
  /** The region this simulator serves (IAM catalog, OBS bucket-region check); default 'eu-de'. */
  region?: string
  /**
   * The token body's `catalog`: 'empty' (default, as before) answers `catalog: []` with or without
   * `?nocatalog=true`; 'faithful' answers as IAM does: no `catalog` with `?nocatalog=true`, else a
   * catalog naming this simulator's IMS and IAM endpoints.
   */
  iamCatalog?: 'empty' | 'faithful'
  /**
   * The simulator's OBS: buckets (name, region, storage class) and objects (key, size in bytes),
   * served on the same port (`HEAD /<key>`, `GET /?location`, virtual-host or path style) with
   * OBS's AK/SK signature checked against `credentials`. Default: no buckets.
   */
  obs?: ObsSeed
  /**
   * When true, a quick-import job judges its image file through the simulator's OBS as IMS would
   * (a missing file, another region, over 1 TB, not Standard, min_disk below the size, RAW without
   * `.mf` end the job FAIL with IMS's code). Default false: jobs ignore OBS, as before.
   */
  obsJudging?: boolean
  /**
   * Added before each OBS answer, in ms: OBS as a network hop away (a real client reaches it over
   * HTTPS in the region) instead of on the loopback. Default 0.
   */
  obsLatencyMs?: number
  /**
   * Import throughput in bytes per second: when set and the file's size is known (OBS), a job's
   * RUNNING time grows by size / throughput on top of the drawn duration. Default: off.
   */
  importBytesPerSecond?: number
  /**
   * A JSON file that keeps images and jobs across restarts (state-file.ts says what else and why):
   * read at start when it exists (an unreadable one is moved aside and the simulator starts empty),
   * rewritten atomically within 200 ms of each change and on close. Default: none, all in memory.
   */
  stateFile?: string
  /** Where the state file's log lines go (loaded, started empty, moved aside, write failed); default stderr. */
  stateLog?: (line: string) => void
}

export interface SimulatorCounters {
  /** Images created per value of tag key 'ims_importer_id' (in tags or image_tags). */
  createsByMarker: Record<string, number>
  createsByName: Record<string, number>
  totalCreates: number
  currentConcurrentImports: number
  peakConcurrentImports: number
  /** Per operation: quickImport, getJob, listImages, auth, getQuota, deleteImage. */
  requests: Record<string, number>
  /** Per operation, per HTTP status ('0' = connection destroyed without an answer). */
  responses: Record<string, Record<string, number>>
}

/** The private-image quota as the simulator sees it (kept out of SimulatorCounters, whose shape callers compare whole). */
export interface SimulatorQuota {
  /** Private images allowed (`imageQuota`). */
  quota: number
  /** Private images the project holds now (the quota's `used`). */
  used: number
  /** Quick-import POSTs refused with IMG.0015 since start or the last reset. */
  refusedForQuota: number
}

export interface RequestLogEntry {
  op: string
  /** Epoch ms when received. */
  at: number
  /** HTTP status answered; 0 when the connection was destroyed without an answer (or not answered yet). */
  status: number
  marker?: string
}

export interface SimulatorJobView {
  jobId: string
  status: string
  imageId: string | null
  marker?: string
}

export interface SimulatorControl {
  /**
   * Forget images, jobs, counters, request log, rate windows and AK lockouts; keep options and
   * tokens. The `existingImages` of the options are there again afterwards.
   */
  reset(): void
  /** Replaces faults; {} clears. */
  setFaults(faults: Faults): void
  /** Applies to jobs created afterwards. */
  setSpeed(speed: { initMs?: number; jobDurationMs?: JobDurationSpec; listingDelayMs?: number }): void
  setRateLimits(limits: SimulatorOptions['rateLimits']): void
  setLimits(limits: { imageQuota?: number; maxConcurrentImports?: number }): void
  /**
   * Makes the project hold `count` private images: adds active images named `sim-existing-N` (no
   * marker tag), or deletes the oldest finished images. Returns the count reached (images whose job
   * is still running are not deleted).
   */
  setImageCount(count: number): number
  /** Deletes one image, as `DELETE /v2/images/{image_id}` does; 'busy' while its job runs. */
  deleteImage(imageId: string): 'deleted' | 'not-found' | 'busy'
  counters(): SimulatorCounters
  quota(): SimulatorQuota
  /** Every request received (accepted or not), oldest first. */
  requestLog(op?: string): RequestLogEntry[]
  jobs(): SimulatorJobView[]
  /** The simulator's OBS: buckets and objects (metadata only), and whether jobs judge their file by it. */
  obs: {
    /** Creates or updates a bucket (its objects are added to those it has). */
    putBucket(bucket: ObsBucketSeed): void
    /** False when the bucket does not exist. */
    putObject(bucket: string, object: ObsObjectSeed): boolean
    deleteObject(bucket: string, key: string): boolean
    deleteBucket(name: string): boolean
    snapshot(): ObsSeed
    setJudging(settings: { obsJudging?: boolean; importBytesPerSecond?: number | null }): void
  }
}

/** Options with defaults applied; the mutable parts change through the control API. */
export interface SimulatorSettings {
  projectId: string
  projectName: string
  users: { name: string; password: string; domain: string }[]
  credentials: { ak: string; sk: string }[]
  tokenTtlMs: number
  initMs: number
  jobDurationMs: JobDurationSpec
  reportProgress: boolean
  listingDelayMs: number
  imageQuota: number
  maxConcurrentImports: number
  rateLimits: RateLimits
  retryAfterSeconds: number | null
  faults: Faults
  cloud: 'otc' | 'hwc'
  region: string
  iamCatalog: 'empty' | 'faithful'
  obsJudging: boolean
  obsLatencyMs: number
  importBytesPerSecond: number | null
}

export const DEFAULT_USER = { name: 'sim-user', password: 'sim-password', domain: 'sim-domain' }
export const DEFAULT_CREDENTIALS = { ak: 'SIMAK0000000000000001', sk: 'sim-secret-key' }

export function resolveSettings(options: SimulatorOptions): SimulatorSettings {
  const projectId = options.projectId ?? 'sim-project'
  return {
    projectId,
    projectName: options.projectName ?? projectId,
    users: options.users ?? [DEFAULT_USER],
    credentials: options.credentials ?? [DEFAULT_CREDENTIALS],
    tokenTtlMs: options.tokenTtlMs ?? 24 * 60 * 60 * 1000,
    initMs: options.initMs ?? 200,
    jobDurationMs: options.jobDurationMs ?? { min: 1000, max: 3000 },
    reportProgress: options.reportProgress ?? true,
    listingDelayMs: options.listingDelayMs ?? 0,
    imageQuota: options.imageQuota ?? 10_000,
    maxConcurrentImports: options.maxConcurrentImports ?? 40,
    rateLimits: { ...options.rateLimits },
    retryAfterSeconds: options.retryAfterSeconds ?? null,
    faults: { ...options.faults },
    cloud: options.cloud ?? 'otc',
    region: options.region ?? 'eu-de',
    iamCatalog: options.iamCatalog ?? 'empty',
    obsJudging: options.obsJudging ?? false,
    obsLatencyMs: options.obsLatencyMs ?? 0,
    importBytesPerSecond: options.importBytesPerSecond ?? null,
  }
}
