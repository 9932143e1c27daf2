import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { validateQuickImport } from '@ims-importer/core'
import { uniqueName } from '@ims-importer/core/testing'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { loadApiConfig } from '../src/config.js'
import { DATA_DISK_EXAMPLE, PAGE_EXAMPLE, startTestApi, type TestApi } from './helpers.js'

// Issue 17 item 4: each import's body is judged by the cloud of its target. Huawei Cloud's
// system-image body takes license_type (ims-api.md §3); Open Telekom Cloud's does not.

/** A Windows system image with HWC's license_type (the page's example otherwise). */
const WINDOWS_BYOL = {
  ...PAGE_EXAMPLE,
  name: 'win2016-byol',
  os_version: 'Windows Server 2016 Standard 64bit',
  license_type: 'byol',
}
/** The same body as IMS gets it (no service fields). */
const WINDOWS_BYOL_IMS: Record<string, unknown> = WINDOWS_BYOL

/** The core validator's word on license_type for an OTC body: the API must answer exactly this. */
const otcIssue = (() => {
  const result = validateQuickImport(WINDOWS_BYOL_IMS)
  if (result.success) throw new Error('core accepts license_type for OTC: this test is out of date')
  const issue = result.issues.find((i) => i.path === 'license_type')
  if (!issue) throw new Error(`core names no license_type issue: ${JSON.stringify(result.issues)}`)
  return issue
})()

describe('quick-import body per target cloud (API)', () => {
  const otc = uniqueName('otc')
  const hwc = uniqueName('hwc')
  const tenant = uniqueName('tc')
  let api: TestApi

  beforeAll(async () => {
    // The first target (the default) is OTC by the targets file's default: it is not in `clouds`.
    api = await startTestApi(inject('redisUrl'), { clouds: { [hwc]: 'hwc' } }, undefined, {
      tenants: [tenant, uniqueName('tc')],
      targets: [otc, hwc],
    })
  })
  afterAll(async () => {
    await api?.close()
  })

  it('refuses license_type for an OTC target with 400 problem+json naming the field, as core says', async () => {
    for (const body of [WINDOWS_BYOL, { ...WINDOWS_BYOL, target: otc }]) {
      const res = await api.post('/v1/imports', tenant, body)
      expect(res.statusCode).toBe(400)
      expect(res.headers['content-type']).toContain('application/problem+json')
      const problem = res.json()
      expect(problem.errors).toEqual([{ ...otcIssue, path: 'license_type' }])
      expect(problem.errors[0].message).toContain('Huawei Cloud')
    }
    expect(await api.submitJobs(otc)).toBe(0)
  })

  it('accepts license_type for an HWC target with 202, and keeps it in the request sent to IMS', async () => {
    const res = await api.post('/v1/imports', tenant, { ...WINDOWS_BYOL, target: hwc })
    expect(res.statusCode).toBe(202)
    const view = res.json()
    expect(view).toMatchObject({ target: hwc, status: 'queued' })
    expect(view.request).toMatchObject({ license_type: 'byol' })
    expect(await api.hasSubmitJob(hwc, view.id)).toBe(true)
    const record = await api.deps.store.get(view.id)
    expect(record?.request).toMatchObject({ license_type: 'byol', os_version: WINDOWS_BYOL.os_version })
  })

  it('still judges an HWC body by its rules: a bad license_type, or one on a data disk image, is a 400', async () => {
    const bad = await api.post('/v1/imports', tenant, { ...WINDOWS_BYOL, license_type: 'free', target: hwc })
    expect(bad.statusCode).toBe(400)
    const hwcBad = validateQuickImport({ ...WINDOWS_BYOL_IMS, license_type: 'free' }, { cloud: 'hwc' }) as {
      success: false
      issues: unknown[]
    }
    expect(hwcBad.success).toBe(false)
    expect(bad.json().errors).toEqual(hwcBad.issues)
    expect(bad.json().errors[0]).toMatchObject({ path: 'license_type' })

    const data = await api.post('/v1/imports', tenant, {
      ...DATA_DISK_EXAMPLE,
      license_type: 'byol',
      target: hwc,
    })
    expect(data.statusCode).toBe(400)
    expect(data.json().errors).toEqual([
      expect.objectContaining({ path: 'license_type', message: expect.stringContaining('data disk image') }),
    ])
  })

  it('judges each batch item by its own target: items[i].license_type refused for OTC, accepted for HWC', async () => {
    const items = [
      { ...WINDOWS_BYOL, target: hwc, external_id: 'c-0' },
      { ...WINDOWS_BYOL, target: otc, external_id: 'c-1' },
      { ...WINDOWS_BYOL, external_id: 'c-2' }, // the default target: OTC
      { ...PAGE_EXAMPLE, target: otc, external_id: 'c-3' },
      { ...PAGE_EXAMPLE, target: hwc, external_id: 'c-4' },
    ]
    const res = await api.post('/v1/batches', tenant, { items })
    expect(res.statusCode).toBe(202)
    const body = res.json()
    expect(body).toMatchObject({ accepted: 3, rejected: 2 })
    expect(body.imports.map((i: { index: number }) => i.index)).toEqual([0, 3, 4])
    expect(body.errors).toEqual([
      { index: 1, errors: [{ ...otcIssue, path: 'items[1].license_type' }] },
      { index: 2, errors: [{ ...otcIssue, path: 'items[2].license_type' }] },
    ])
    const accepted = await api.deps.store.get(body.imports[0].id)
    expect(accepted).toMatchObject({ target: hwc, request: { license_type: 'byol' } })

    // A batch whose every item is refused for license_type on OTC: 400, nothing accepted.
    const none = await api.post('/v1/batches', tenant, { items: [{ ...WINDOWS_BYOL, target: otc }] })
    expect(none.statusCode).toBe(400)
    expect(none.json().errors).toEqual([{ ...otcIssue, path: 'items[0].license_type' }])
  })

  it('documents license_type in the OpenAPI request body, platform or byol, for Huawei Cloud targets', async () => {
    const doc = (await api.app.inject({ url: '/openapi.json' })).json()
    const request = doc.components.schemas.ImportRequest
    const variants = (request.anyOf ?? request.oneOf) as {
      properties?: Record<string, { enum?: string[] }>
    }[]
    const withLicense = variants.filter((v) => v.properties?.license_type)
    expect(withLicense).toHaveLength(1)
    expect(withLicense[0]?.properties?.license_type?.enum).toEqual(['platform', 'byol'])
    expect(request.description).toMatch(/license_type/)
    // The batch items are the same bodies.
    expect(JSON.stringify(doc.components.schemas.BatchRequest)).toContain('ImportRequest')
  })
})

describe('the API reads each target cloud from the targets file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ims-api-cloud-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('maps every target to its cloud, OTC when the file names none', () => {
    const file = join(dir, 'targets.json')
    const target = (name: string, extra: Record<string, unknown> = {}) => ({
      name,
      imsEndpoint: 'http://127.0.0.1:4600',
      iamEndpoint: 'http://127.0.0.1:4600/v3',
      projectId: 'sim-project',
      auth: { type: 'token', username: 'u', password: 'p', domainName: 'd' },
      ...extra,
    })
    writeFileSync(
      file,
      JSON.stringify({
        targets: [
          target('eu-de'),
          target('eu-west-101', { cloud: 'hwc' }),
          target('eu-nl', { cloud: 'otc' }),
        ],
      }),
    )
    const config = loadApiConfig({ REDIS_URL: 'redis://127.0.0.1:1', IMS_TARGETS_FILE: file })
    expect(config.targets).toEqual(['eu-de', 'eu-west-101', 'eu-nl'])
    expect(config.clouds).toEqual({ 'eu-de': 'otc', 'eu-west-101': 'hwc', 'eu-nl': 'otc' })
  })
})
