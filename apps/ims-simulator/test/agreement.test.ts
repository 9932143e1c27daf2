import { describe, expect, it } from 'vitest'
// Plain data shared with the service's schema tests (no code of the service is loaded): the same
// bodies go through both validators, so a rule either side got wrong shows up here.
import {
  BOUNDARY_BODIES,
  INVALID_BODIES,
  PAGE_EXAMPLES,
} from '../../../packages/core/test/fixtures/invalid-bodies.js'
import { validateQuickImport } from '../src/quick-import-validation.js'

/**
 * Bodies the service refuses and IMS (as the simulator reads the reference) accepts. The service
 * may be stricter than IMS; these are listed so that a new difference still fails the test.
 */
const KNOWN_STRICTER_IN_SERVICE = new Set([
  // The reference says an existing tag key is updated; the simulator keeps the last value.
  'tag key used twice',
  'image_tags key used twice once trimmed',
])

describe('agreement with the service validator (core fixtures)', () => {
  it.each(PAGE_EXAMPLES.map((e) => [e.title, e.body] as const))(
    'accepts page example: %s',
    (_title, body) => {
      expect(validateQuickImport(body)).toMatchObject({ ok: true })
    },
  )

  it.each(BOUNDARY_BODIES.map((b) => [b.rule, b.body] as const))(
    'accepts boundary body: %s',
    (_rule, body) => {
      expect(validateQuickImport(body)).toMatchObject({ ok: true })
    },
  )

  const imsRejects = INVALID_BODIES.filter((b) => !b.serviceOnly && !KNOWN_STRICTER_IN_SERVICE.has(b.rule))
  it.each(imsRejects.map((b) => [b.rule, b] as const))(
    'rejects %s with a matching IMG code',
    (_rule, invalid) => {
      const result = validateQuickImport(invalid.body)
      expect(result.ok).toBe(false)
      const codes = invalid.issues.map((i) => i.ims_code)
      // Where every issue names a documented code, IMS must answer one of them.
      if (!result.ok && codes.every((c) => c !== undefined)) expect(codes).toContain(result.code)
    },
  )

  const serviceOnly = INVALID_BODIES.filter((b) => b.serviceOnly || KNOWN_STRICTER_IN_SERVICE.has(b.rule))
  it.each(serviceOnly.map((b) => [b.rule, b.body] as const))('IMS itself accepts %s', (_rule, body) => {
    expect(validateQuickImport(body)).toMatchObject({ ok: true })
  })
})
