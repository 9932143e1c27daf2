import { type CallbackUrlPolicy, checkCallbackUrl, validateQuickImport } from '@ims-importer/core'
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
  callbackPolicy: CallbackUrlPolicy
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Validates one import body (the IMS quick-import body plus the service fields). The service
 * fields are split off first; the rest goes through core's validateQuickImport, so errors carry
 * JSON paths and the IMS error code IMS would answer with. `prefix` prefixes paths (batch items).
 */
export function parseImportRequest(
  body: unknown,
  rules: ImportRequestRules,
  prefix = '',
): { ok: true; value: ParsedImportRequest } | { ok: false; errors: FieldError[] } {
  const at = (path: string) =>
    prefix ? (path === '' ? prefix : path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`) : path
  const errors: FieldError[] = []
  let imsBody: unknown = body
  let target = rules.targets[0] ?? ''
  let externalId: string | null = null
  let callbackUrl: string | null = null

  if (isPlainObject(body)) {
    const { target: t, external_id: e, callback_url: c, ...rest } = body
    imsBody = rest
    if (t !== undefined) {
      if (typeof t !== 'string' || !rules.targets.includes(t))
        errors.push({
          path: at('target'),
          message: `unknown target ${echo(JSON.stringify(t) ?? String(t))}; configured targets: ${rules.targets.join(', ')}`,
        })
      else target = t
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

  const result = validateQuickImport(imsBody)
  if (!result.success)
    for (const issue of result.issues)
      errors.push({
        path: at(issue.path),
        message: issue.message,
        ...(issue.ims_code ? { ims_code: issue.ims_code } : {}),
      })
  if (errors.length > 0 || !result.success) return { ok: false, errors }
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
