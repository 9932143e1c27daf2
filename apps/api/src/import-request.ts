import {
  bucketAllowed,
  bucketOf,
  type CallbackUrlPolicy,
  type Cloud,
  checkCallbackUrl,
  type TenantPolicy,
  targetAllowed,
  targetsOf,
  validateQuickImport,
} from '@ims-importer/core'
import { echo, type FieldError } from './problem.js'

/** Fields of POST /v1/imports that belong to the service and are never sent to IMS. */
export const SERVICE_FIELDS = ['target', 'external_id', 'callback_url'] as const
export const MAX_EXTERNAL_ID_LENGTH = 128

/** A request body taken apart: the IMS body exactly as given, and the service fields. */
export interface ParsedImportRequest {
  request: Record<string, unknown>
  target: string
  external_id: string | null
  callback_url: string | null
}

export interface ImportRequestRules {
  /** Configured target names; the first is the default. */
  targets: readonly string[]
  /** Each target's cloud, which the body is judged by; a target missing here is OTC. */
  clouds: Readonly<Record<string, Cloud>>
  callbackPolicy: CallbackUrlPolicy
  /** The caller's tenant policy: its targets, default target and buckets. */
  policy: TenantPolicy
}

/** An echoed input in an error, quoted: a short prefix only (problem.ts echo). */
const shown = (v: unknown): string => echo(JSON.stringify(v) ?? String(v))

/** The target of an import that names none: the tenant's default, else the first configured. */
export const defaultTargetOf = (rules: ImportRequestRules): string =>
  rules.policy.defaultTarget ?? rules.targets[0] ?? ''

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Validates one import body (the IMS quick-import body plus the service fields). The service
 * fields are split off first; the rest goes through core's validateQuickImport with the cloud of
 * the import's target, so errors carry JSON paths and the IMS error code IMS would answer with.
 * `prefix` prefixes paths (batch items).
 */
export function parseImportRequest(
  body: unknown,
  rules: ImportRequestRules,
  prefix = '',
):
  | { ok: true; value: ParsedImportRequest }
  /** `forbidden`: every error is a rule of the tenant's policy (403), not a bad body (400). */
  | { ok: false; errors: FieldError[]; forbidden: boolean } {
  const at = (path: string) =>
    prefix ? (path === '' ? prefix : path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`) : path
  const errors: FieldError[] = []
  let policyErrors = 0
  const { policy } = rules
  let imsBody: unknown = body
  let target = defaultTargetOf(rules)
  let externalId: string | null = null
  let callbackUrl: string | null = null

  if (isPlainObject(body)) {
    const { target: t, external_id: e, callback_url: c, ...rest } = body
    imsBody = rest
    if (t !== undefined) {
      if (typeof t !== 'string') errors.push({ path: at('target'), message: 'target must be a string' })
      else if (targetAllowed(policy, t, rules.targets)) target = t
      else if (policy.targets === null)
        // A tenant that may use every target: the target does not exist.
        errors.push({
          path: at('target'),
          message: `unknown target ${shown(t)}; configured targets: ${rules.targets.join(', ')}`,
        })
      else {
        // Unknown or another tenant's: the same answer, naming only the tenant's own targets.
        policyErrors++
        errors.push({
          path: at('target'),
          message: `tenant ${policy.name} may not use target ${shown(t)}; its targets: ${targetsOf(policy, rules.targets).join(', ')}`,
        })
      }
    }
    if (e !== undefined) {
      if (typeof e !== 'string' || e.length === 0 || e.length > MAX_EXTERNAL_ID_LENGTH)
        errors.push({
          path: at('external_id'),
          message: `external_id must be a string of 1 to ${MAX_EXTERNAL_ID_LENGTH} characters`,
        })
      else externalId = e
    }
    if (c !== undefined) {
      if (typeof c !== 'string')
        errors.push({ path: at('callback_url'), message: 'callback_url must be a string' })
      else {
        const check = checkCallbackUrl(c, rules.callbackPolicy)
        if (check.ok) callbackUrl = c
        else errors.push({ path: at('callback_url'), message: check.reason })
      }
    }
  }

  const bucket = isPlainObject(imsBody) ? bucketOf(imsBody.image_url) : null
  if (bucket !== null && !bucketAllowed(policy, bucket)) {
    policyErrors++
    errors.push({
      path: at('image_url'),
      message: `bucket ${shown(bucket)} is not one tenant ${policy.name} may import from`,
    })
  }

  // Judged by the cloud of the import's target (the default target's when the named one is refused).
  const result = validateQuickImport(imsBody, { cloud: rules.clouds[target] ?? 'otc' })
  if (!result.success)
    for (const issue of result.issues)
      errors.push({
        path: at(issue.path),
        message: issue.message,
        ...(issue.ims_code ? { ims_code: issue.ims_code } : {}),
      })
  if (errors.length > 0 || !result.success)
    return { ok: false, errors, forbidden: policyErrors > 0 && policyErrors === errors.length }
  return {
    ok: true,
    value: {
      request: result.data as Record<string, unknown>,
      target,
      external_id: externalId,
      callback_url: callbackUrl,
    },
  }
}
