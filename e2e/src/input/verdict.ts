import { MARKER_TAG_KEY, MAX_CALLER_TAGS } from '@ims-importer/core'
import { IMS_ERROR_CODES, validateQuickImport as imsValidate } from 'ims-simulator'

/** One error entry of a 400 answer (or of a batch item). */
export interface FieldError {
  path: string
  message: string
  ims_code?: string
}

/** What the API said about one body: accepted (202 / listed in `imports`) or rejected with errors. */
export type ApiVerdict = { accepted: true } | { accepted: false; errors: FieldError[] }

export type ImsVerdict = { ok: true } | { ok: false; code: string }

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** IMS's verdict on a body, as the simulator reads the reference (in-process). */
export function imsVerdict(body: unknown): ImsVerdict {
  const result = imsValidate(body)
  return result.ok ? { ok: true } : { ok: false, code: result.code }
}

/**
 * The rules only this service applies, documented in core's fixtures (`serviceOnly`) and in the
 * simulator's agreement test: it keeps one tag slot for its marker tag (so at most 9 caller
 * tags, counted as sent), reserves the marker tag key, and refuses a tag key given twice (IMS
 * updates the key). Returns which of them a body breaks; nothing else may make the verdicts differ.
 */
export function serviceOnlyRules(body: unknown): string[] {
  if (!isPlainObject(body)) return []
  const rules: string[] = []
  const lists: [string, unknown, (e: unknown) => string | undefined][] = [
    [
      'tags',
      body.tags,
      (e) => {
        if (typeof e !== 'string') return undefined
        const dot = e.indexOf('.')
        return dot < 0 ? undefined : e.slice(0, dot)
      },
    ],
    [
      'image_tags',
      body.image_tags,
      (e) => (isPlainObject(e) && typeof e.key === 'string' ? e.key.trim() : undefined),
    ],
  ]
  for (const [field, list, keyOf] of lists) {
    if (!Array.isArray(list)) continue
    if (list.length > MAX_CALLER_TAGS) rules.push(`${field}: more than ${MAX_CALLER_TAGS} caller tags`)
    const keys = list.map(keyOf).filter((k): k is string => k !== undefined)
    if (keys.includes(MARKER_TAG_KEY)) rules.push(`${field}: the reserved marker key`)
    if (new Set(keys).size < keys.length) rules.push(`${field}: a key twice`)
  }
  return rules
}

/** An API error that one of the service-only rules explains (by path and message). */
function explainedByServiceRule(e: FieldError, prefix: string): boolean {
  const path = prefix ? e.path.slice(prefix.length).replace(/^\./, '') : e.path
  if (
    /^(tags|image_tags)$/.test(path) &&
    e.ims_code === 'IMG.0116' &&
    e.message.includes('the service adds one')
  )
    return true
  if (/^(tags|image_tags)\[\d+\](\.key)?$/.test(path) && /reserved|appears twice/.test(e.message)) return true
  return false
}

export interface Judged {
  /** Broken properties: a 5xx, a 400 without path or reason, an undocumented IMS code. */
  propertyFailures: string[]
  /** API and IMS disagree (beyond the service-only rules). */
  disagreement: string | null
  /** Both rejected, the API named only documented codes, and IMS's code is not among them. */
  codeMismatch: string | null
  /** Accepted by IMS, refused by the service under its documented own rules. */
  serviceOnly: boolean
}

/**
 * Judges the API's answer to one body. `prefix` is where the body sits in the request (batch
 * items: `items[3]`); `rootPathAllowed` says an error may point at the body itself with path ""
 * (only when the body is not an object, or is an empty object: nothing inside to point at).
 */
export function judge(body: unknown, api: ApiVerdict, prefix = ''): Judged {
  const propertyFailures: string[] = []
  const ims = imsVerdict(body)
  const rules = ims.ok ? serviceOnlyRules(body) : []
  const rootOnly = !isPlainObject(body) || Object.keys(body).length === 0
  if (!api.accepted) {
    if (api.errors.length === 0) propertyFailures.push('rejected without any error entry')
    for (const e of api.errors) {
      if (typeof e.message !== 'string' || e.message.trim() === '')
        propertyFailures.push(`error without a reason: ${JSON.stringify(e)}`)
      if (typeof e.path !== 'string') propertyFailures.push(`error without a path: ${JSON.stringify(e)}`)
      else if (
        prefix &&
        !(e.path === prefix || e.path.startsWith(`${prefix}.`) || e.path.startsWith(`${prefix}[`))
      )
        propertyFailures.push(`error path ${JSON.stringify(e.path)} is not under ${prefix}`)
      else if (e.path === prefix && !rootOnly)
        propertyFailures.push(`error points at the whole body although it is an object: ${JSON.stringify(e)}`)
      if (e.ims_code !== undefined && !(e.ims_code in IMS_ERROR_CODES))
        propertyFailures.push(`undocumented IMS code ${e.ims_code}`)
    }
  }
  let disagreement: string | null = null
  let serviceOnly = false
  if (!ims.ok && api.accepted) disagreement = `IMS rejects (${ims.code}), the API accepted`
  else if (ims.ok && !api.accepted) {
    if (rules.length === 0)
      disagreement = `IMS accepts, the API rejected: ${JSON.stringify(api.errors).slice(0, 600)}`
    else {
      const unexplained = api.errors.filter((e) => !explainedByServiceRule(e, prefix))
      if (unexplained.length > 0)
        disagreement = `IMS accepts; the API rejected for more than its own rules (${rules.join(', ')}): ${JSON.stringify(unexplained).slice(0, 600)}`
      else serviceOnly = true
    }
  } else if (ims.ok && api.accepted && rules.length > 0)
    disagreement = `the API accepted a body its own rules refuse (${rules.join(', ')})`
  let codeMismatch: string | null = null
  if (!ims.ok && !api.accepted) {
    const codes = api.errors.map((e) => e.ims_code)
    if (codes.every((c) => c !== undefined) && !codes.includes(ims.code))
      codeMismatch = `IMS answers ${ims.code}, the API names ${[...new Set(codes)].join(', ')}`
  }
  return { propertyFailures, disagreement, codeMismatch, serviceOnly }
}
