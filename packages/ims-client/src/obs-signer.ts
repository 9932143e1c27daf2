import { createHmac } from 'node:crypto'

// OBS's header signature, the OBS form ("V2"): `Authorization: OBS <AK>:<Signature>`,
// Signature = Base64(HMAC-SHA1(SK, StringToSign)). Only what the pre-flight sends: GET and HEAD,
// no body (so no Content-MD5 or Content-Type), the time in `x-obs-date` (so the Date line is
// empty), a temporary credential's `x-obs-security-token`, and the sub-resources `location` and
// `storageClass`. Why our own signer and not esdk-obs-nodejs: docs/preflight.md.

/** AK/SK for OBS; `securityToken` with temporary credentials. Never logged. */
export interface ObsCredentials {
  ak: string
  sk: string
  securityToken?: string
}

/** The sub-resources the pre-flight reads (part of the CanonicalizedResource). */
export type ObsSubresource = 'location' | 'storageClass'

export interface ObsRequestToSign {
  method: 'GET' | 'HEAD'
  bucket: string
  /** The object key as sent in the path (percent-encoded, obsEncodeKey); '' for the bucket. */
  encodedKey: string
  subresource?: ObsSubresource
  /** The `x-obs-*` headers sent, names in lower case. */
  obsHeaders: Record<string, string>
}

/** An object key as it goes into the path: each segment percent-encoded, `/` kept. */
export function obsEncodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/')
}

/**
 * `VERB \n Content-MD5 \n Content-Type \n Date \n CanonicalizedHeaders CanonicalizedResource`.
 * CanonicalizedResource is `/<bucket>/<key>` (the same for path-style and virtual-host requests),
 * plus `?<subresource>`.
 */
export function obsStringToSign(req: ObsRequestToSign): string {
  const headers = Object.keys(req.obsHeaders)
    .map((name) => name.toLowerCase())
    .sort()
    .map((name) => `${name}:${(req.obsHeaders[name] ?? '').trim()}\n`)
    .join('')
  const resource = `/${req.bucket}/${req.encodedKey}${req.subresource ? `?${req.subresource}` : ''}`
  // Content-MD5, Content-Type: none sent; Date: empty, the time is in x-obs-date.
  return `${req.method}\n\n\n\n${headers}${resource}`
}

/**
 * The headers that authenticate one request: `x-obs-date` (RFC 1123), `x-obs-security-token`
 * with temporary credentials, and `Authorization`.
 */
export function signObsRequest(
  req: Omit<ObsRequestToSign, 'obsHeaders'>,
  credentials: ObsCredentials,
  now: Date = new Date(),
): Record<string, string> {
  const obsHeaders: Record<string, string> = { 'x-obs-date': now.toUTCString() }
  if (credentials.securityToken) obsHeaders['x-obs-security-token'] = credentials.securityToken
  const signature = createHmac('sha1', credentials.sk)
    .update(obsStringToSign({ ...req, obsHeaders }), 'utf8')
    .digest('base64')
  return { ...obsHeaders, authorization: `OBS ${credentials.ak}:${signature}` }
}
