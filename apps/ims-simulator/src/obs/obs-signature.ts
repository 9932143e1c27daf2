import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * OBS's header signature (obs-api.md "Signature"), verified the way the OBS gateway does: rebuild
 * the string to sign from the request received and compare. Two prefixes of the same HMAC-SHA1
 * scheme: `OBS <AK>:<sig>` with `x-obs-*` headers (the OBS form, esdk-obs-nodejs' default on
 * virtual-host requests) and `AWS <AK>:<sig>` with `x-amz-*` headers (the S3 V2 form OBS also
 * accepts; esdk-obs-nodejs switches to it for path-style requests and IP endpoints).
 */

export type ObsSignatureForm = 'OBS' | 'AWS'

export interface ObsAuthorization {
  form: ObsSignatureForm
  access: string
  signature: string
}

/** Sub-resources that are part of the CanonicalizedResource (the rest of the query is not signed). */
const SIGNED_SUBRESOURCES = new Set([
  'acl',
  'append',
  'cors',
  'delete',
  'encryption',
  'lifecycle',
  'location',
  'logging',
  'metadata',
  'notification',
  'partnumber',
  'policy',
  'position',
  'quota',
  'replication',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
  'restore',
  'storageclass',
  'storageinfo',
  'storagepolicy',
  'tagging',
  'uploadid',
  'uploads',
  'versionid',
  'versioning',
  'versions',
  'website',
])

/** `OBS AK:signature` or `AWS AK:signature`; null for anything else (anonymous or another scheme). */
export function parseObsAuthorization(header: string | undefined): ObsAuthorization | null {
  const m = header === undefined ? null : /^(OBS|AWS) ([^:\s]+):(\S+)$/.exec(header.trim())
  if (!m) return null
  return { form: m[1] as ObsSignatureForm, access: m[2] as string, signature: m[3] as string }
}

export const headerPrefix = (form: ObsSignatureForm) => (form === 'OBS' ? 'x-obs-' : 'x-amz-')

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value
}

export interface ObsSignedRequest {
  method: string
  /** `/<bucket>/<key>` as signed: the path as received (path style), or `/<bucket>` + path (virtual host). */
  resourcePath: string
  query: string
  headers: Record<string, string | string[] | undefined>
}

export function obsStringToSign(req: ObsSignedRequest, form: ObsSignatureForm): string {
  const prefix = headerPrefix(form)
  const h = (name: string) => single(req.headers[name])?.trim() ?? ''
  const canonicalHeaders = Object.keys(req.headers)
    .map((name) => name.toLowerCase())
    .filter((name) => name.startsWith(prefix))
    .sort()
    .map((name) => `${name}:${h(name)}\n`)
    .join('')
  const dated = req.headers[`${prefix}date`] !== undefined
  const subresources = req.query
    .split('&')
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf('=')
      const key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq))
      const value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1))
      return { key, value }
    })
    .filter(({ key }) => SIGNED_SUBRESOURCES.has(key.toLowerCase()))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ key, value }) => (value === '' ? key : `${key}=${value}`))
  const resource = `${req.resourcePath}${subresources.length > 0 ? `?${subresources.join('&')}` : ''}`
  return [
    req.method.toUpperCase(),
    h('content-md5'),
    h('content-type'),
    dated ? '' : h('date'),
    `${canonicalHeaders}${resource}`,
  ].join('\n')
}

export function obsSignature(stringToSign: string, sk: string): string {
  return createHmac('sha1', sk).update(stringToSign, 'utf8').digest('base64')
}

export function obsSignatureMatches(req: ObsSignedRequest, auth: ObsAuthorization, sk: string): boolean {
  const expected = Buffer.from(obsSignature(obsStringToSign(req, auth.form), sk))
  const received = Buffer.from(auth.signature)
  return expected.length === received.length && timingSafeEqual(expected, received)
}

/** The request time: `x-obs-date` / `x-amz-date` when sent, else `Date`; epoch ms or null. */
export function obsRequestTime(
  headers: Record<string, string | string[] | undefined>,
  form: ObsSignatureForm,
): number | null {
  const value = single(headers[`${headerPrefix(form)}date`]) ?? single(headers.date)
  if (value === undefined) return null
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? null : ms
}
