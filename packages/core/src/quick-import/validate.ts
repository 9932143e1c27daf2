import type { z } from 'zod'
import type { ImsBodyErrorCode } from './ims-codes.js'
import {
  type Cloud,
  CommonFields,
  HWC_KNOWN_FIELDS,
  HwcQuickImportRequest,
  KNOWN_FIELDS,
  QuickImportRequest,
  unknownFieldMessage,
} from './schema.js'
import { describeType, quote } from './text.js'

/** One thing wrong with a quick-import body. */
export interface ValidationIssue {
  /** Where: dotted with bracket indexes, e.g. "name", "image_tags[2].key", "tags[0]"; "" for the body itself. */
  path: string
  /** What is wrong and what is allowed, in plain words. */
  message: string
  /** The IMS error code IMS answers with for this problem, where its documentation names one. */
  ims_code?: string
}

export type QuickImportValidation<T = QuickImportRequest> =
  | { success: true; data: T }
  | { success: false; issues: ValidationIssue[] }

export interface QuickImportValidationOptions {
  /** Whose page to judge by: 'otc' (default) or 'hwc' (adds `license_type`). */
  cloud?: Cloud
}

type Path = readonly PropertyKey[]

// A key that is not a plain name (empty, with a "." or a space...) is written ["key"], so that a
// path never reads as the body itself ("") or as a deeper path.
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/

/** A body path as every validation error names it: `items[3].image_tags[0].key`. */
export function formatPath(path: Path): string {
  let out = ''
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`
    else if (!PLAIN_KEY.test(String(segment))) out += `[${JSON.stringify(String(segment))}]`
    else out += out === '' ? String(segment) : `.${String(segment)}`
  }
  return out
}

/**
 * The IMS code for a zod issue. Rules spanning several fields carry their code in
 * `params.ims_code`; the others take the code IMS documents for the field.
 */
function imsCodeFor(issue: z.core.$ZodIssue, input: unknown): ImsBodyErrorCode | undefined {
  if (issue.code === 'custom') return issue.params?.ims_code
  const field = issue.path[0]
  const missing = issue.code === 'invalid_type' && input === undefined
  switch (field) {
    case undefined:
      return issue.code === 'invalid_type' ? 'IMG.0001' : undefined
    case 'name':
      if (missing || issue.code === 'too_small') return 'IMG.0013'
      return issue.code === 'too_big' ? 'IMG.0002' : 'IMG.0003'
    case 'description':
      return issue.code === 'too_big' ? 'IMG.0004' : 'IMG.0054'
    case 'os_version':
      return 'IMG.0056'
    case 'image_url':
      return 'IMG.0068'
    case 'min_disk':
      return 'IMG.0055'
    case 'tags':
    case 'image_tags':
      return 'IMG.0115'
    case 'type':
      return 'IMG.0024'
    case 'os_type':
      return 'IMG.0122'
    case 'architecture':
      return 'IMG.0212'
    case 'hw_firmware_type':
      return 'IMG.0141'
    case 'license_type':
      // No code is documented for it; the IMS simulator answers the general format code.
      return 'IMG.0001'
    default:
      return undefined
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** Zod issues as ValidationIssues; a set of unknown keys becomes one issue per key. */
function toValidationIssues(
  issues: readonly z.core.$ZodIssue[],
  body: Record<string, unknown>,
  cloud: Cloud,
): ValidationIssue[] {
  const variant = body.type === 'DataImage' ? 'data' : 'system'
  return issues.flatMap((issue): ValidationIssue[] => {
    const input = (issue as { input?: unknown }).input
    const ims_code = imsCodeFor(issue, input)
    const withCode = (path: Path, message: string): ValidationIssue =>
      ims_code === undefined
        ? { path: formatPath(path), message }
        : { path: formatPath(path), message, ims_code }
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) =>
        withCode(
          [...issue.path, key],
          issue.path.length === 0
            ? unknownFieldMessage(variant, key, cloud)
            : `${formatPath(issue.path)} takes only "key" and "value"; ${quote(key)} is not accepted`,
        ),
      )
    }
    return [withCode(issue.path, issue.message)]
  })
}

const isTypeMismatch = (issue: z.core.$ZodIssue) =>
  issue.code === 'invalid_union' && issue.path.length === 1 && issue.path[0] === 'type'

/**
 * Judges a quick-import body as IMS would, and reports every problem found, each with its
 * path, a plain-language reason and the IMS error code where IMS documents one. On success
 * the body comes back as given: no defaults are filled in (IMS applies its own).
 */
export function validateQuickImport(body: unknown, options?: { cloud?: 'otc' }): QuickImportValidation
export function validateQuickImport(
  body: unknown,
  options: QuickImportValidationOptions,
): QuickImportValidation<QuickImportRequest | HwcQuickImportRequest>
export function validateQuickImport(
  body: unknown,
  options: QuickImportValidationOptions = {},
): QuickImportValidation<QuickImportRequest | HwcQuickImportRequest> {
  const cloud = options.cloud ?? 'otc'
  if (!isObject(body)) {
    return {
      success: false,
      issues: [
        {
          path: '',
          message: `the request body must be a JSON object (the IMS quick-import body), not ${describeType(body)}`,
          ims_code: 'IMG.0001',
        },
      ],
    }
  }
  if (Object.keys(body).length === 0) {
    return {
      success: false,
      issues: [
        {
          path: '',
          message:
            'the request body is an empty object: a quick import needs at least name, image_url, min_disk and os_version (system disk image), or type "DataImage" in place of os_version (data disk image)',
          ims_code: 'IMG.0007',
        },
      ],
    }
  }
  const schema = cloud === 'hwc' ? HwcQuickImportRequest : QuickImportRequest
  const parsed = schema.safeParse(body, { reportInput: true })
  // The schema transforms nothing, so the body itself is the request: same keys, same order.
  if (parsed.success) return { success: true, data: body as QuickImportRequest | HwcQuickImportRequest }
  const issues = toValidationIssues(parsed.error.issues, body, cloud)
  if (parsed.error.issues.some(isTypeMismatch)) {
    // The type names neither variant: still judge what both variants share, and unknown fields.
    const common = CommonFields.safeParse(body, { reportInput: true })
    if (!common.success) issues.push(...toValidationIssues(common.error.issues, body, cloud))
    const known = cloud === 'hwc' ? HWC_KNOWN_FIELDS : KNOWN_FIELDS
    for (const key of Object.keys(body)) {
      if (!known.has(key))
        issues.push({ path: formatPath([key]), message: unknownFieldMessage('system', key, cloud) })
    }
  }
  return { success: false, issues }
}
