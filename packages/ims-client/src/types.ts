/** How the client authenticates: an IAM password token, or AK/SK request signing. */
export type ImsAuth =
  | { type: 'token'; username: string; password: string; domainName: string }
  | { type: 'aksk'; ak: string; sk: string; securityToken?: string }

export type ImsOperation = 'quickImport' | 'getJob' | 'listImages' | 'getQuota' | 'auth'

export interface ImsClientOptions {
  /** e.g. https://ims.eu-de.otc.t-systems.com */
  imsEndpoint: string
  /** e.g. https://iam.eu-de.otc.t-systems.com/v3 (with or without the trailing /v3) */
  iamEndpoint: string
  projectId: string
  auth: ImsAuth
  /**
   * Which cloud the endpoint is: 'otc' (default) reads a job at `GET /v1/{project_id}/jobs/{job_id}`,
   * 'hwc' at `GET /v1/cloudimages/job/{job_id}` (Huawei Cloud deprecates the other; ims-api.md §1).
   */
  cloud?: 'otc' | 'hwc'
  /** Defaults: connect 5 s, whole request (headers and body) 30 s. */
  timeouts?: { connectMs?: number; requestMs?: number }
  /** Called after every HTTP exchange, for metrics: operation = 'quickImport'|'getJob'|'listImages'|'getQuota'|'auth'. */
  onResponse?: (info: {
    operation: string
    status: number | null
    code: string | null
    durationMs: number
  }) => void
  /** Token refresh margin before expires_at; default 1 h. */
  tokenRefreshMarginMs?: number
}

export interface RequestOptions {
  signal?: AbortSignal
}

/** An IMS asynchronous job (`GET /v1/{project_id}/jobs/{job_id}`; HWC `GET /v1/cloudimages/job/{job_id}`). */
export interface ImsJob {
  job_id: string
  job_type: string | null
  status: 'INIT' | 'RUNNING' | 'SUCCESS' | 'FAIL'
  begin_time: string | null
  end_time: string | null
  error_code: string | null
  fail_reason: string | null
  /** As sent (image_id, image_name, process_percent, sub_jobs_result ...). */
  entities: Record<string, unknown>
  /** entities.image_id, or from sub_jobs_result[].entities.image_id */
  image_id: string | null
  /** entities.process_percent when given (0..100) */
  progress: number | null
}

/** An image as `GET /v2/cloudimages` lists it; attributes beyond the named ones are kept. */
export interface ImsImage {
  id: string
  name: string
  status: string
  tags: string[]
  created_at: string | null
  [k: string]: unknown
}

export interface ListImagesQuery {
  /** 'key=value' */
  tag?: string
  name?: string
  status?: string
  /** 'gt:2024-01-01T00:00:00Z' */
  created_at?: string
  limit?: number
  marker?: string
  __imagetype?: string
  id?: string
}

/** The private-image quota of the project in the region (`GET /v1/cloudimages/quota`, resource `image`). */
export interface ImsImageQuota {
  /** Private images the project holds. */
  used: number
  /** Private images allowed; the quick-import POST answers IMG.0015 once `used` reaches it. */
  quota: number
  /** The bounds the quota can be set within, when IMS gives them. */
  min: number | null
  max: number | null
}

export interface ImsClient {
  /** `POST /v2/cloudimages/quickimport/action` with the body as given. */
  quickImport(body: Record<string, unknown>, opts?: RequestOptions): Promise<{ jobId: string }>
  getJob(jobId: string, opts?: RequestOptions): Promise<ImsJob>
  listImages(query: ListImagesQuery, opts?: RequestOptions): Promise<{ images: ImsImage[] }>
  /** `GET /v1/cloudimages/quota`: the `image` resource (private images used and allowed). */
  getImageQuota(opts?: RequestOptions): Promise<ImsImageQuota>
  /** Closes the connection pool. */
  close(): Promise<void>
}
