import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { sendApiNotFound } from '../error-bodies.js'
import {
  headerPrefix,
  type ObsSignatureForm,
  obsRequestTime,
  obsSignatureMatches,
  parseObsAuthorization,
} from '../obs/obs-signature.js'
import type { ObsBucket, ObsStore, StorageClass } from '../obs/obs-store.js'
import type { RequestLogEntry, SimulatorSettings } from '../options.js'
import type { Traffic } from '../traffic.js'

export interface ObsRouteDeps {
  settings: SimulatorSettings
  obs: ObsStore
  traffic: Traffic
}

/** OBS allows this much clock skew (403 RequestTimeTooSkewed beyond). */
const MAX_SKEW_MS = 15 * 60 * 1000
const OBS_XMLNS = 'http://obs.myhwclouds.com/doc/2015-06-30/'
const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/'
/** The S3-compatible API's names for OBS's classes. */
const S3_CLASS: Record<StorageClass, string> = {
  STANDARD: 'STANDARD',
  WARM: 'STANDARD_IA',
  COLD: 'GLACIER',
  DEEP_ARCHIVE: 'DEEP_ARCHIVE',
}

interface Target {
  bucket: string
  /** Decoded object key; '' for a bucket request. */
  key: string
  /** `/<bucket>/<key>` as it is signed. */
  resourcePath: string
}

const xmlEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/**
 * Which bucket and key a request is for, or null when it is not an OBS request. Virtual-host style
 * (`Host: <bucket>.<endpoint>`, the usual OBS form) for a bucket the simulator holds; otherwise path
 * style (`/<bucket>/<key>`) when the first segment is a bucket it holds or the request carries an
 * OBS/S3 signature. IMS's own paths start with `v1`, `v2`, `v3` or `__sim`, none of which is a valid
 * bucket name (3 to 63 characters, no `_`), so the two never meet.
 */
function resolveTarget(request: FastifyRequest, obs: ObsStore): Target | null {
  const url = request.raw.url ?? request.url
  const q = url.indexOf('?')
  const path = q < 0 ? url : url.slice(0, q)
  const host = (request.headers.host ?? '').replace(/:\d+$/, '').toLowerCase()
  const hosted = obs
    .bucketNames()
    .filter((name) => host.startsWith(`${name}.`))
    .sort((a, b) => b.length - a.length)[0]
  if (hosted !== undefined) {
    return { bucket: hosted, key: safeDecode(path.slice(1)), resourcePath: `/${hosted}${path}` }
  }
  const [, first = '', ...rest] = path.split('/')
  const bucket = safeDecode(first)
  const signed = parseObsAuthorization(request.headers.authorization) !== null
  if (bucket === '' || (obs.bucket(bucket) === undefined && !signed)) return null
  return { bucket, key: safeDecode(rest.join('/')), resourcePath: path }
}

/** `GET /?location` and `HEAD /<key>` (plus `GET /?storageClass` / `?storagePolicy`), as OBS answers them. */
export function registerObsRoutes(app: FastifyInstance, deps: ObsRouteDeps): void {
  const { settings, obs, traffic } = deps

  const fail = (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    code: string,
    message: string,
  ) => {
    reply.header('x-obs-request-id', request.id).header('x-obs-error-code', code)
    // A HEAD answer has no body: the status (and x-obs-error-code) is all a client gets.
    if (request.method === 'HEAD') return reply.code(status).send()
    return reply
      .code(status)
      .type('application/xml')
      .send(
        `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message><RequestId>${request.id}</RequestId><HostId>${xmlEscape(request.headers.host ?? '')}</HostId></Error>`,
      )
  }

  /** The signature's form when it holds; otherwise the reply with the 403 already sent. */
  const authenticate = (
    request: FastifyRequest,
    reply: FastifyReply,
    target: Target,
  ): { form: ObsSignatureForm } | FastifyReply => {
    const auth = parseObsAuthorization(request.headers.authorization)
    if (!auth) return fail(request, reply, 403, 'AccessDenied', 'Access Denied')
    const credential = settings.credentials.find((c) => c.ak === auth.access)
    if (!credential) {
      return fail(
        request,
        reply,
        403,
        'InvalidAccessKeyId',
        'The AWS Access Key Id you provided does not exist in our records.',
      )
    }
    const at = obsRequestTime(request.headers, auth.form)
    if (at === null || Math.abs(Date.now() - at) > MAX_SKEW_MS) {
      return fail(
        request,
        reply,
        403,
        'RequestTimeTooSkewed',
        'The difference between the request time and the server time is too large.',
      )
    }
    const url = request.raw.url ?? request.url
    const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : ''
    const signed = {
      method: request.method,
      resourcePath: target.resourcePath,
      query,
      headers: request.headers,
    }
    if (!obsSignatureMatches(signed, auth, credential.sk)) {
      return fail(
        request,
        reply,
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      )
    }
    return { form: auth.form }
  }

  const bucketRequest = (
    request: FastifyRequest,
    reply: FastifyReply,
    bucket: ObsBucket,
    form: ObsSignatureForm,
  ) => {
    const url = request.raw.url ?? request.url
    const params = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '')
    reply.header('x-obs-request-id', request.id).type('application/xml')
    const head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    if (request.method === 'GET' && params.has('location')) {
      return form === 'OBS'
        ? reply.send(`${head}<Location xmlns="${OBS_XMLNS}">${bucket.region}</Location>`)
        : reply.send(
            `${head}<CreateBucketConfiguration xmlns="${S3_XMLNS}"><LocationConstraint>${bucket.region}</LocationConstraint></CreateBucketConfiguration>`,
          )
    }
    if (request.method === 'GET' && params.has('storageClass')) {
      return reply.send(`${head}<StorageClass xmlns="${OBS_XMLNS}">${bucket.storageClass}</StorageClass>`)
    }
    if (request.method === 'GET' && params.has('storagePolicy')) {
      const value = form === 'OBS' ? bucket.storageClass : S3_CLASS[bucket.storageClass]
      return reply.send(
        `${head}<StoragePolicy><DefaultStorageClass>${value}</DefaultStorageClass></StoragePolicy>`,
      )
    }
    // HEAD bucket: it exists and the caller may see it; the region in a header, as OBS sends it.
    if (request.method === 'HEAD') {
      return reply.header('x-obs-bucket-location', bucket.region).code(200).send()
    }
    return fail(
      request,
      reply,
      405,
      'MethodNotAllowed',
      'The specified method is not allowed against this resource.',
    )
  }

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const target = resolveTarget(request, obs)
    if (target === null) return sendApiNotFound(request, reply)
    const entry: RequestLogEntry = { op: 'obs', at: Date.now(), status: 0 }
    traffic.received(entry)
    reply.raw.once('finish', () => traffic.answered(entry, reply.statusCode))
    if (settings.obsLatencyMs > 0) await sleep(settings.obsLatencyMs)
    const bucket = obs.bucket(target.bucket)
    const auth = authenticate(request, reply, target)
    if (!('form' in auth)) return auth
    if (!bucket) return fail(request, reply, 404, 'NoSuchBucket', 'The specified bucket does not exist.')
    if (target.key === '') return bucketRequest(request, reply, bucket, auth.form)
    const object = bucket.objects.get(target.key)
    if (!object) return fail(request, reply, 404, 'NoSuchKey', 'The specified key does not exist.')
    if (request.method !== 'HEAD') {
      return fail(request, reply, 405, 'MethodNotAllowed', 'The simulator holds object metadata only.')
    }
    reply
      .header('x-obs-request-id', request.id)
      .header('content-type', 'application/octet-stream')
      .header('content-length', String(object.size))
      .header('last-modified', new Date(object.lastModifiedMs).toUTCString())
      .header('etag', object.etag)
    // Absent for Standard objects (obs-api.md); the S3 form names the classes its own way.
    if (object.storageClass !== 'STANDARD') {
      reply.header(
        `${headerPrefix(auth.form)}storage-class`,
        auth.form === 'OBS' ? object.storageClass : S3_CLASS[object.storageClass],
      )
    }
    return reply.code(200).send()
  }

  app.route({ method: ['GET', 'HEAD'], url: '/*', handler })
}
