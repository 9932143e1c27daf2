import type { ImsErrorKind, ImsErrorReason } from './error-classes.js'

export type { ImsErrorKind, ImsErrorReason } from './error-classes.js'

export interface ImsErrorInit {
  kind: ImsErrorKind
  /** Why, where a caller acts on it beyond the kind (see ImsErrorReason); default null. */
  reason?: ImsErrorReason | null
  operation: string
  message: string
  status?: number | null
  code?: string | null
  retryAfterMs?: number | null
  requestId?: string | null
  cause?: unknown
}

/**
 * The one error the IMS client throws. `kind` says what to do (see ImsErrorKind); the message
 * never contains a credential, token or signature.
 */
export class ImsError extends Error {
  readonly kind: ImsErrorKind
  /** `quota` for IMG.0015 (private-image quota reached; kind permanent); null otherwise. */
  readonly reason: ImsErrorReason | null
  /** HTTP status, or null when no response arrived. */
  readonly status: number | null
  /** IMS/gateway/IAM error code (`IMG.0060`, `APIG.0308`, ...), or null. */
  readonly code: string | null
  /** From a `Retry-After` header, when the server sent one. */
  readonly retryAfterMs: number | null
  /** From the error body's `request_id` or the `X-Request-Id` header. */
  readonly requestId: string | null
  /** 'quickImport' | 'getJob' | 'listImages' | 'auth': the exchange that failed. */
  readonly operation: string

  constructor(init: ImsErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause })
    this.name = 'ImsError'
    this.kind = init.kind
    this.reason = init.reason ?? null
    this.operation = init.operation
    this.status = init.status ?? null
    this.code = init.code ?? null
    this.retryAfterMs = init.retryAfterMs ?? null
    this.requestId = init.requestId ?? null
  }
}

export function isImsError(err: unknown): err is ImsError {
  return err instanceof ImsError
}

/** True for IMG.0015: the project's private-image quota is reached (the import itself is fine). */
export function isImageQuotaError(err: unknown): boolean {
  return err instanceof ImsError && err.reason === 'quota'
}
