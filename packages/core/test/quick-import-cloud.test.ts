import { describe, expect, it } from 'vitest'
import {
  HwcQuickImportRequest,
  QuickImportRequest,
  type ValidationIssue,
  validateQuickImport,
} from '../src/index.js'
import { DATA_BODY, INVALID_BODIES, PAGE_EXAMPLES, SYSTEM_BODY } from './fixtures/invalid-bodies.js'

// Per-cloud validation (issue 17 item 4): Huawei Cloud's page adds license_type to the
// system-image body; OTC (the default) does not take it.

const WINDOWS = { ...SYSTEM_BODY, os_version: 'Windows Server 2016 Standard 64bit' }

function issuesOf(body: unknown, cloud: 'otc' | 'hwc'): ValidationIssue[] {
  const result = validateQuickImport(body, { cloud })
  if (result.success) throw new Error(`expected ${JSON.stringify(body)} to be rejected on ${cloud}`)
  return result.issues
}

describe('license_type', () => {
  it('is refused on OTC (the default and cloud "otc"), with a message naming Huawei Cloud', () => {
    const body = { ...WINDOWS, license_type: 'byol' }
    expect(validateQuickImport(body).success).toBe(false)
    const [issue] = issuesOf(body, 'otc')
    expect(issue).toMatchObject({ path: 'license_type' })
    expect(issue?.message).toMatch(/Huawei Cloud field/)
  })

  it('is accepted on Huawei Cloud as platform or byol, the body coming back as given', () => {
    for (const license_type of ['platform', 'byol']) {
      const body = { ...WINDOWS, license_type }
      const result = validateQuickImport(body, { cloud: 'hwc' })
      expect(result).toEqual({ success: true, data: body })
      expect(result.success && result.data).toBe(body)
      expect(HwcQuickImportRequest.safeParse(body).success).toBe(true)
      expect(QuickImportRequest.safeParse(body).success).toBe(false)
    }
    // The page says it applies to Windows; on another OS it is accepted, as the simulator does.
    expect(validateQuickImport({ ...SYSTEM_BODY, license_type: 'byol' }, { cloud: 'hwc' }).success).toBe(true)
  })

  it('refuses other values on Huawei Cloud, and on data disk images', () => {
    expect(issuesOf({ ...WINDOWS, license_type: 'BYOL' }, 'hwc')).toEqual([
      expect.objectContaining({
        path: 'license_type',
        ims_code: 'IMG.0001',
        message: expect.stringMatching(/platform/),
      }),
    ])
    const [data] = issuesOf({ ...DATA_BODY, license_type: 'byol' }, 'hwc')
    expect(data).toMatchObject({ path: 'license_type' })
    expect(data?.message).toMatch(/system disk images only/)
  })
})

describe('everything else is judged the same on both clouds', () => {
  it.each(PAGE_EXAMPLES)('$title validates on hwc too', ({ body }) => {
    expect(validateQuickImport(body, { cloud: 'hwc' })).toEqual({ success: true, data: body })
  })

  it('gives the same issues for every shared invalid body', () => {
    for (const invalid of INVALID_BODIES) {
      const otc = validateQuickImport(invalid.body)
      const hwc = validateQuickImport(invalid.body, { cloud: 'hwc' })
      expect(hwc, JSON.stringify(invalid.body)?.slice(0, 120)).toEqual(otc)
    }
  })
})
