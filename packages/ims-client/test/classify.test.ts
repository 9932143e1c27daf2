import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  classifyError,
  ERROR_CODE_TABLE,
  type ImsErrorKind,
  isTokenRefreshAnswer,
  isUncertainSubmitAnswer,
} from '../src/error-classes.js'

// A committed copy of /work/shared/reference/ims-error-codes.tsv (CI keeps shared/ elsewhere).
const rows = readFileSync(new URL('./data/ims-error-codes.tsv', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '' && !line.startsWith('#'))
  .map((line) => {
    const [status, code, message] = line.split('\t')
    return { status: Number(status), code: code ?? '', message: message ?? '' }
  })

// ims-api.md §2, stated again here so the table is checked against the reference, not itself.
const THROTTLED = ['IMG.0060', 'IMG.0194']
const TRANSIENT = [
  'IMG.0014',
  'IMG.0018',
  'IMG.0023',
  'IMG.0061',
  'IMG.0064',
  'IMG.0065',
  'IMG.0154',
  'IMG.0155',
  'IMG.0156',
  'IMG.0187',
]
const AUTH = ['IMG.0026', 'IMG.0030', 'IMG.0067', 'IMG.0087']
// §2's P list, checked explicitly (everything else not named above is permanent too).
// biome-ignore format: a list of codes
const NAMED_PERMANENT = [
  '0001', '0007', '0017', '0123', '0002', '0003', '0062', '0013', '0004', '0054', '0009', '0024', '0117', '0055',
  '0056', '0122', '0141', '0212', '0057', '0058', '0059', '0068', '0069', '0109', '0072', '0075', '0175', '1075',
  '0115', '0116', '0015', '0238', '0239', '0241', '0242',
].map((n) => `IMG.${n}`)

function expectedKind(code: string): ImsErrorKind {
  if (THROTTLED.includes(code)) return 'throttled'
  if (TRANSIENT.includes(code)) return 'transient'
  if (AUTH.includes(code)) return 'auth'
  return 'permanent'
}

describe('classifyError over every code of ims-error-codes.tsv', () => {
  it('reads the whole table (177 codes)', () => {
    expect(rows).toHaveLength(177)
  })

  it.each(rows)('$code (HTTP $status) is classified as §2 says', ({ status, code }) => {
    expect(ERROR_CODE_TABLE[code], `${code} has no explicit entry`).toBeDefined()
    expect(classifyError(status, code)).toBe(expectedKind(code))
  })

  it('has every code §2 names permanent in the tsv and classified permanent', () => {
    for (const code of NAMED_PERMANENT) {
      expect(rows.some((r) => r.code === code)).toBe(true)
      expect(classifyError(400, code)).toBe('permanent')
    }
  })

  it('keeps the class of an IMG code whatever the status', () => {
    expect(classifyError(503, 'IMG.0060')).toBe('throttled')
    expect(classifyError(500, 'IMG.0061')).toBe('transient')
  })
})

describe('gateway codes', () => {
  it.each<[number, string, ImsErrorKind]>([
    [429, 'APIG.0308', 'throttled'],
    [429, 'APIGW.0308', 'throttled'],
    [502, 'APIG.0201', 'transient'],
    [504, 'APIG.0201', 'transient'],
    [413, 'APIG.0201', 'permanent'],
    [414, 'APIG.0201', 'permanent'],
    [494, 'APIG.0201', 'permanent'],
    [503, 'APIG.0613', 'transient'],
    [500, 'APIG.0601', 'transient'],
    [401, 'APIG.0307', 'auth'],
    [401, 'APIG.0301', 'auth'],
    [401, 'APIGW.0301', 'auth'],
    [401, 'APIG.0303', 'auth'],
    [403, 'APIG.0302', 'auth'],
    [403, 'APIG.0306', 'auth'],
    [403, 'APIG.0402', 'permanent'],
  ])('HTTP %i %s is %s', (status, code, kind) => {
    expect(classifyError(status, code)).toBe(kind)
  })
})

describe("Huawei Cloud's APIGW.xxxx gateway codes (issue 17 item 4)", () => {
  it('classifies every APIG code of the table the same under its APIGW. prefix, status rules included', () => {
    for (const code of Object.keys(ERROR_CODE_TABLE).filter((c) => c.startsWith('APIG.'))) {
      const hwc = `APIGW.${code.slice('APIG.'.length)}`
      for (const status of [400, 401, 403, 413, 414, 429, 494, 500, 502, 503, 504]) {
        expect(classifyError(status, hwc), `${status} ${hwc}`).toBe(classifyError(status, code))
      }
    }
  })

  it('treats APIGW.0307 as "refresh the token" and APIGW.0303 as not', () => {
    expect(isTokenRefreshAnswer(401, 'APIGW.0307', null)).toBe(true)
    expect(isTokenRefreshAnswer(401, 'APIGW.0303', null)).toBe(false)
  })
})

describe('HTTP fallbacks when no known code is given', () => {
  it.each<[number | null, string | null, ImsErrorKind]>([
    [408, null, 'transient'],
    [500, null, 'transient'],
    [502, null, 'transient'],
    [503, null, 'transient'],
    [504, null, 'transient'],
    [429, null, 'throttled'],
    [401, '401', 'auth'], // IAM: {"error":{"code":401,...}}
    [403, null, 'auth'],
    [400, null, 'permanent'],
    [404, 'IMG.9999', 'permanent'],
    [501, null, 'permanent'],
    [null, null, 'transient'],
  ])('HTTP %s with code %s is %s', (status, code, kind) => {
    expect(classifyError(status, code)).toBe(kind)
  })
})

describe('submit and token rules', () => {
  it('treats a gateway timeout or IMG.0018 on the submit as uncertain, nothing else', () => {
    expect(isUncertainSubmitAnswer(504, 'APIG.0201')).toBe(true)
    expect(isUncertainSubmitAnswer(400, 'IMG.0018')).toBe(true)
    expect(isUncertainSubmitAnswer(502, 'APIG.0201')).toBe(false)
    expect(isUncertainSubmitAnswer(503, null)).toBe(false)
    expect(isUncertainSubmitAnswer(400, 'IMG.0060')).toBe(false)
  })

  it('asks for a token refresh on APIG.0307, a "token must be updated" message or a 401', () => {
    expect(isTokenRefreshAnswer(401, 'APIG.0307', null)).toBe(true)
    expect(isTokenRefreshAnswer(400, null, 'The token must be updated.')).toBe(true)
    expect(isTokenRefreshAnswer(400, 'IMG.0087', null)).toBe(true)
    expect(isTokenRefreshAnswer(401, 'APIG.0301', null)).toBe(true)
    expect(isTokenRefreshAnswer(401, 'APIG.0303', 'signature expired')).toBe(false)
    expect(isTokenRefreshAnswer(403, 'APIG.0302', null)).toBe(false)
    expect(isTokenRefreshAnswer(429, 'APIG.0308', null)).toBe(false)
  })
})
