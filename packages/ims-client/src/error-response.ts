import { z } from 'zod'

// Reads an error answer from IMS, IAM or the API gateway. Two JSON shapes exist (ims-api.md §2):
//   IMS:     {"error":{"code":"IMG.0024","message":"..."}}   (IAM: code is the HTTP status as a number)
//   gateway: {"error_code":"APIG.0308","error_msg":"...","request_id":"..."}
// and some answers are not JSON at all (HTML from a proxy, empty bodies).

const MAX_MESSAGE_CHARS = 300

const Code = z.union([z.string(), z.number()]).transform(String)

const NestedErrorBody = z.object({
  error: z.object({ code: Code.optional(), message: z.string().optional(), title: z.string().optional() }),
  request_id: z.string().optional(),
})

const FlatErrorBody = z.object({
  error_code: Code,
  error_msg: z.string().optional(),
  request_id: z.string().optional(),
})

export interface ErrorDetails {
  code: string | null
  message: string | null
  requestId: string | null
}

function clip(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim()
  return oneLine.length > MAX_MESSAGE_CHARS ? `${oneLine.slice(0, MAX_MESSAGE_CHARS)}...` : oneLine
}

export function parseErrorBody(text: string, headerRequestId: string | null): ErrorDetails {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return {
      code: null,
      message: text.trim() === '' ? null : `non-JSON body: ${clip(text)}`,
      requestId: headerRequestId,
    }
  }
  const flat = FlatErrorBody.safeParse(json)
  if (flat.success) {
    const { error_code, error_msg, request_id } = flat.data
    return {
      code: error_code,
      message: error_msg ? clip(error_msg) : null,
      requestId: request_id ?? headerRequestId,
    }
  }
  const nested = NestedErrorBody.safeParse(json)
  if (nested.success) {
    const { code, message, title } = nested.data.error
    const text = message ?? title
    return {
      code: code ?? null,
      message: text ? clip(text) : null,
      requestId: nested.data.request_id ?? headerRequestId,
    }
  }
  return { code: null, message: `unrecognised error body: ${clip(text)}`, requestId: headerRequestId }
}

/** `Retry-After` as delay-seconds or an HTTP date, in ms from `now`; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null
  const trimmed = value.trim()
  if (trimmed === '') return null
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? null : Math.max(0, at - now)
}
