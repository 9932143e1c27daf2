import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  DataDiskImport,
  IMS_BODY_ERRORS,
  QuickImportRequest,
  SystemDiskImport,
  type ValidationIssue,
  validateQuickImport,
} from '../src/index.js'
import { BOUNDARY_BODIES, INVALID_BODIES, PAGE_EXAMPLES, SYSTEM_BODY } from './fixtures/invalid-bodies.js'

function issuesOf(body: unknown): ValidationIssue[] {
  const result = validateQuickImport(body)
  if (result.success) throw new Error(`expected ${JSON.stringify(body)?.slice(0, 200)} to be rejected`)
  return result.issues
}

describe('the example requests of the IMS API page', () => {
  it.each(PAGE_EXAMPLES)('$title validates unchanged', ({ json, body }) => {
    const result = validateQuickImport(body)
    expect(result).toEqual({ success: true, data: JSON.parse(json) })
    // The very body given, so it goes to IMS with the same fields in the same order.
    expect(result.success && result.data).toBe(body)
    expect(JSON.stringify(result.success && result.data)).toBe(JSON.stringify(JSON.parse(json)))
    expect(QuickImportRequest.safeParse(body).success).toBe(true)
  })

  it('the examples cover both variants and both tag forms', () => {
    const shapes = PAGE_EXAMPLES.map(
      ({ body }) => `${String(body.type)}/${'tags' in body ? 'tags' : 'image_tags'}`,
    )
    expect(shapes).toEqual(['ECS/tags', 'ECS/image_tags', 'DataImage/tags', 'DataImage/image_tags'])
    expect(SystemDiskImport.safeParse(PAGE_EXAMPLES[0]?.body).success).toBe(true)
    expect(DataDiskImport.safeParse(PAGE_EXAMPLES[2]?.body).success).toBe(true)
    expect(SystemDiskImport.safeParse(PAGE_EXAMPLES[2]?.body).success).toBe(false)
  })
})

describe('invalid bodies', () => {
  it('the table covers at least 40 bodies', () => {
    expect(INVALID_BODIES.length).toBeGreaterThanOrEqual(40)
  })

  it.each(INVALID_BODIES)('$rule', ({ body, issues: expected }) => {
    const issues = issuesOf(body)
    expect(issues).toHaveLength(expected.length)
    for (const want of expected) {
      const found = issues.find((i) => i.path === want.path && i.message.includes(want.message))
      expect(
        found,
        `no issue at "${want.path}" with "${want.message}" in ${JSON.stringify(issues)}`,
      ).toBeDefined()
      expect(found?.ims_code).toBe(want.ims_code)
    }
  })

  it('every IMS code given is one IMS documents for a body', () => {
    const codes = new Set(INVALID_BODIES.flatMap((c) => issuesOf(c.body).map((i) => i.ims_code)))
    codes.delete(undefined)
    for (const code of codes) expect(Object.keys(IMS_BODY_ERRORS)).toContain(code)
    // The table exercises each code this package assigns.
    expect([...codes].sort()).toEqual(Object.keys(IMS_BODY_ERRORS).sort())
  })

  it('the schema rejects every invalid body too, as a Fastify route would', () => {
    for (const { body, rule } of INVALID_BODIES) {
      // The empty body and non-objects are caught before the schema; the schema refuses them as well.
      expect(QuickImportRequest.safeParse(body).success, rule).toBe(false)
    }
  })
})

describe('near-valid boundary bodies', () => {
  it.each(BOUNDARY_BODIES)('$rule passes', ({ body }) => {
    const result = validateQuickImport(body)
    expect(result.success ? [] : result.issues).toEqual([])
    expect(result.success && result.data).toBe(body)
  })
})

describe('validateQuickImport', () => {
  it('reports every problem of a body, not just the first', () => {
    const issues = issuesOf({
      name: ' bad#name',
      description: 'a\nb',
      os_version: 'CentOS 7.0',
      image_url: 'Bucket:my file.vmdk',
      min_disk: 2048,
      tags: ['aaa', 'bbb.1', 'bbb.2'],
      architecture: 'arm',
      hw_firmware_type: 'bios',
      colour: 'blue',
    })
    const paths = issues.map((i) => i.path)
    for (const path of [
      'name',
      'description',
      'os_version',
      'image_url',
      'min_disk',
      'tags[0]',
      'tags[2]',
      'hw_firmware_type',
      'colour',
    ]) {
      expect(paths).toContain(path)
    }
    expect(issues.filter((i) => i.path === 'name').map((i) => i.ims_code)).toEqual(['IMG.0003', 'IMG.0003'])
    expect(issues.filter((i) => i.path === 'image_url').map((i) => i.ims_code)).toEqual([
      'IMG.0109',
      'IMG.0175',
      'IMG.0072',
    ])
  })

  it('with a type naming neither variant, still judges the fields both variants share', () => {
    const issues = issuesOf({ ...SYSTEM_BODY, type: 'Data', name: '', min_disk: 0, extra: 1 })
    expect(issues.map((i) => [i.path, i.ims_code])).toEqual([
      ['type', 'IMG.0024'],
      ['name', 'IMG.0013'],
      ['min_disk', 'IMG.0055'],
      ['extra', undefined],
    ])
  })

  it('lists each unknown field separately, by name', () => {
    const issues = issuesOf({ ...SYSTEM_BODY, region: 'eu-de', project_id: 'p' })
    expect(issues.map((i) => i.path)).toEqual(['region', 'project_id'])
  })

  it('does not fill in defaults: no type, os_type or architecture appear', () => {
    const body = { ...SYSTEM_BODY }
    const result = validateQuickImport(body)
    expect(result.success && Object.keys(result.data)).toEqual([
      'name',
      'image_url',
      'os_version',
      'min_disk',
    ])
  })

  it('keeps long inputs short in messages', () => {
    const [issue] = issuesOf({ ...SYSTEM_BODY, os_version: 'x'.repeat(5000) })
    expect(issue?.message.length).toBeLessThan(400)
  })
})

describe('the schema as a route and OpenAPI schema', () => {
  it('converts to JSON Schema: one variant per disk kind, with the documented limits', () => {
    const schema = z.toJSONSchema(QuickImportRequest, { io: 'input' }) as {
      oneOf: { properties: Record<string, Record<string, unknown>>; required: string[] }[]
    }
    const [system, data] = schema.oneOf
    expect(system?.required).toEqual(['name', 'os_version', 'image_url', 'min_disk'])
    expect(data?.required).toEqual(['name', 'image_url', 'min_disk', 'type'])
    expect(system?.properties.os_version?.enum).toHaveLength(131)
    expect(system?.properties.name).toMatchObject({ minLength: 1, maxLength: 128 })
    expect(system?.properties.min_disk).toMatchObject({ type: 'integer', minimum: 1, maximum: 1024 })
    expect(system?.properties.tags).toMatchObject({ maxItems: 9 })
    expect(data?.properties.type).toMatchObject({ const: 'DataImage' })
    expect(Object.keys(data?.properties ?? {})).not.toContain('architecture')
  })

  it('gives a route readable messages', () => {
    const result = QuickImportRequest.safeParse({ ...SYSTEM_BODY, min_disk: '40' })
    expect(result.success ? '' : z.prettifyError(result.error)).toContain('min_disk must be a JSON number')
  })
})
