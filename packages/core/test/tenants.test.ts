import { hash } from 'node:crypto'
import { renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { ConfigError } from '../src/config.js'
import { newId } from '../src/ids.js'
import type { NewImport } from '../src/import-record.js'
import { createRedis } from '../src/redis.js'
import { createAdmission, createImportStore } from '../src/store/index.js'
import {
  bucketAllowed,
  loadTenants,
  parseTenants,
  policyViolation,
  type Tenants,
  targetAllowed,
  unrestrictedPolicy,
  watchTenantsFile,
} from '../src/tenants.js'
import { testKeys } from '../src/testing/namespace.js'
import { withTempDir } from '../src/testing/temp-dir.js'
import { uniqueName } from '../src/testing/unique.js'

const TARGETS = ['eu-de', 'eu-nl', 'ak']
const hex = (key: string) => hash('sha256', key)
const WHSEC_A = `whsec_${Buffer.from('alpha-callback-secret-0123456789').toString('base64')}`
const WHSEC_B = `whsec_${Buffer.from('beta-callback-secret-0123456789x').toString('base64')}`

const FILE = {
  tenants: {
    alpha: {
      apiKeys: [`sha256:${hex('alpha-key')}`, 'env:ALPHA_KEY_2'],
      targets: ['eu-de', 'ak'],
      buckets: ['alpha-*', 'shared-bucket'],
      rateLimitPerMinute: 120,
      maxOpenImports: 50,
      callbackSecrets: [WHSEC_A, 'env:ALPHA_NEXT_SECRET'],
    },
    beta: {
      apiKeys: [`sha256:${hex('beta-key')}`],
      targets: '*',
      defaultTarget: 'eu-nl',
      buckets: ['*'],
    },
  },
  admins: { ops: { apiKeys: [`sha256:${hex('ops-key')}`] } },
}
const ENV = { ALPHA_KEY_2: 'alpha-key-two', ALPHA_NEXT_SECRET: WHSEC_B }

describe('the tenants file', () => {
  it("parses each tenant's keys (hashed), targets, buckets, limits and callback secrets", () => {
    const t = parseTenants(FILE, { env: ENV, targets: TARGETS })
    expect(t.apiKeys.map((k) => [k.tenant, k.keyId, k.hash.toString('hex')])).toEqual([
      ['alpha', 'alpha#0', hex('alpha-key')],
      ['alpha', 'alpha#1', hex('alpha-key-two')],
      ['beta', 'beta#0', hex('beta-key')],
    ])
    expect(t.adminKeys.map((k) => [k.tenant, k.hash.toString('hex')])).toEqual([['ops', hex('ops-key')]])
    const alpha = t.policies.get('alpha')
    expect(alpha).toMatchObject({
      targets: ['eu-de', 'ak'],
      defaultTarget: 'eu-de',
      buckets: ['alpha-*', 'shared-bucket'],
      rateLimitPerMinute: 120,
      maxOpenImports: 50,
    })
    expect(alpha?.callbackSecrets.map((b) => b.toString())).toEqual([
      'alpha-callback-secret-0123456789',
      'beta-callback-secret-0123456789x',
    ])
    expect(t.policies.get('beta')).toMatchObject({
      targets: null,
      defaultTarget: 'eu-nl',
      buckets: null,
      rateLimitPerMinute: null,
      maxOpenImports: 10_000,
      callbackSecrets: [],
    })
  })

  it('judges targets and bucket patterns', () => {
    const alpha = parseTenants(FILE, { env: ENV, targets: TARGETS }).policies.get('alpha')
    if (!alpha) throw new Error('no alpha')
    expect(targetAllowed(alpha, 'ak', TARGETS)).toBe(true)
    expect(targetAllowed(alpha, 'eu-nl', TARGETS)).toBe(false)
    expect(targetAllowed(alpha, 'nowhere', TARGETS)).toBe(false)
    expect(targetAllowed(unrestrictedPolicy('dev'), 'eu-nl', TARGETS)).toBe(true)
    expect(targetAllowed(unrestrictedPolicy('dev'), 'nowhere', TARGETS)).toBe(false)
    for (const b of ['alpha-bucket', 'alpha-', 'shared-bucket']) expect(bucketAllowed(alpha, b), b).toBe(true)
    for (const b of ['beta-bucket', 'xalpha-bucket', 'shared-bucket2', 'alpha'])
      expect(bucketAllowed(alpha, b), b).toBe(false)
    expect(
      policyViolation(alpha, { target: 'eu-nl', request: { image_url: 'alpha-b:x.zvhd2' } }, TARGETS),
    ).toBe('tenant alpha may no longer use target "eu-nl"')
    expect(policyViolation(alpha, { target: 'ak', request: { image_url: 'beta-b:x.zvhd2' } }, TARGETS)).toBe(
      'bucket "beta-b" is no longer one tenant alpha may import from',
    )
    expect(
      policyViolation(alpha, { target: 'ak', request: { image_url: 'alpha-b:x.zvhd2' } }, TARGETS),
    ).toBeNull()
  })

  it('refuses a bad file naming the field, never a key or secret', () => {
    const bad = (tenants: unknown, env: Record<string, string> = {}) => {
      try {
        parseTenants({ tenants }, { env, targets: TARGETS })
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError)
        return (err as Error).message
      }
      throw new Error('accepted')
    }
    const base = { apiKeys: [`sha256:${hex('k')}`], targets: ['eu-de'], buckets: ['a-*'] }
    const plaintext = bad({ alpha: { ...base, apiKeys: ['hunter2-plaintext-key'] } })
    expect(plaintext).toMatch(/tenants\.alpha\.apiKeys\.0: must be sha256:<64 hex digits> or env:NAME/)
    expect(plaintext).not.toContain('hunter2')
    const secret = bad({ alpha: { ...base, callbackSecrets: ['whsec_!!not-base64-hunter2'] } })
    expect(secret).toMatch(/tenants\.alpha\.callbackSecrets\.0/)
    expect(secret).not.toContain('hunter2')
    const short = bad({
      alpha: { ...base, callbackSecrets: [`whsec_${Buffer.from('hunter2').toString('base64')}`] },
    })
    expect(short).toMatch(/callbackSecrets\.0: the secret after whsec_ must be 24 to 64 bytes/)
    expect(short).not.toContain(Buffer.from('hunter2').toString('base64'))
    expect(bad({ alpha: { ...base, callbackSecrets: [WHSEC_A, WHSEC_A, WHSEC_B] } })).toMatch(
      /callbackSecrets: at most two/,
    )
    expect(bad({ alpha: { ...base, targets: ['eu-de', 'mars'] } })).toMatch(
      /tenants\.alpha\.targets\.1: "mars" is not a configured target/,
    )
    expect(bad({ alpha: { ...base, defaultTarget: 'ak' } })).toMatch(/tenants\.alpha\.defaultTarget/)
    expect(bad({ alpha: { ...base, apiKeys: ['env:MISSING_KEY'] } })).toMatch(
      /apiKeys\.0: environment variable MISSING_KEY is not set/,
    )
    expect(bad({ alpha: { ...base, buckets: ['Alpha Bucket'] } })).toMatch(/tenants\.alpha\.buckets\.0/)
    expect(bad({ 'bad tenant': base })).toMatch(/tenants/)
    expect(bad({ alpha: { ...base, bogus: 1 } })).toMatch(/bogus/)
  })

  it('reads YAML and JSON files; an unparseable one is refused without quoting it', () => {
    withTempDir('tenants', (dir) => {
      const yaml = join(dir, 'tenants.yaml')
      writeFileSync(
        yaml,
        [
          'tenants:',
          '  alpha:',
          `    apiKeys: ["sha256:${hex('alpha-key')}"]`,
          '    targets: [eu-de]',
          '    buckets: ["alpha-*"]',
          `    callbackSecrets: ["${WHSEC_A}"]`,
        ].join('\n'),
      )
      expect(loadTenants(yaml, { env: {}, targets: TARGETS }).policies.get('alpha')?.targets).toEqual([
        'eu-de',
      ])
      const json = join(dir, 'tenants.json')
      writeFileSync(json, JSON.stringify(FILE))
      expect([...loadTenants(json, { env: ENV, targets: TARGETS }).policies.keys()]).toEqual([
        'alpha',
        'beta',
      ])
      writeFileSync(json, '{"tenants": {"alpha": {"apiKeys": ["hunter2-in-broken-json"')
      const err = (() => {
        try {
          loadTenants(json, { env: {}, targets: TARGETS })
        } catch (e) {
          return (e as Error).message
        }
      })()
      expect(err).toMatch(/is not valid JSON/)
      expect(err).not.toContain('hunter2')
    })
  })
})

/**
 * Runs `use` with FILE in a temp dir, followed every `everyMs`: what it hands on and what it
 * reports. The watch is closed and the dir removed afterwards.
 */
function watching(everyMs: number, use: (w: Watching) => Promise<void>): Promise<void> {
  return withTempDir('tenants-watch', async (dir) => {
    const file = join(dir, 'tenants.json')
    writeFileSync(file, JSON.stringify(FILE))
    const changes: Tenants[] = []
    const errors: string[] = []
    const watch = watchTenantsFile({
      file,
      env: ENV,
      targets: TARGETS,
      everyMs,
      onChange: (t) => changes.push(t),
      onError: (m) => errors.push(m),
    })
    try {
      await use({ dir, file, changes, errors, watch })
    } finally {
      watch.close()
    }
  })
}

interface Watching {
  dir: string
  file: string
  changes: Tenants[]
  errors: string[]
  watch: ReturnType<typeof watchTenantsFile>
}

describe('the tenants file while the service runs (watchTenantsFile)', () => {
  it('hands a changed valid file to onChange, refuses a bad one once and keeps the policy, then takes the fix', () =>
    watching(0, async ({ dir, file, changes, errors, watch }) => {
      // The content the service started on is not a change.
      expect(await watch.check()).toBe('unchanged')
      // beta loses every target but eu-nl; gamma is new.
      const next = structuredClone(FILE) as { tenants: Record<string, unknown>; admins: unknown }
      next.tenants.beta = { ...FILE.tenants.beta, targets: ['eu-nl'] }
      const gamma = (target: string) => ({
        apiKeys: [`sha256:${hex('gamma-key')}`],
        targets: [target],
        buckets: ['gamma-*'],
      })
      next.tenants.gamma = gamma('ak')
      writeFileSync(file, JSON.stringify(next))
      expect(await watch.check()).toBe('reloaded')
      expect(changes).toHaveLength(1)
      expect(changes[0]?.policies.get('beta')?.targets).toEqual(['eu-nl'])
      expect(changes[0]?.apiKeys.map((k) => k.tenant)).toContain('gamma')
      expect(await watch.check()).toBe('unchanged')

      // A bad file (a target that is not configured, a plaintext key in broken JSON): refused,
      // reported once, nothing handed on; the message names the field, never the key.
      next.tenants.gamma = gamma('mars')
      writeFileSync(file, JSON.stringify(next))
      expect(await watch.check()).toBe('refused')
      expect(await watch.check()).toBe('refused')
      expect(errors).toEqual([expect.stringContaining('tenants.gamma.targets.0')])
      writeFileSync(file, '{"tenants": {"alpha": {"apiKeys": ["hunter2-in-broken-json"')
      expect(await watch.check()).toBe('refused')
      expect(errors).toHaveLength(2)
      expect(errors.join('\n')).not.toContain('hunter2')
      // Gone for a moment (a file being replaced), then back as the valid one.
      rmSync(file)
      expect(await watch.check()).toBe('refused')
      expect(errors[2]).toMatch(/cannot read .*ENOENT/)
      const tmp = join(dir, 'next.json')
      writeFileSync(tmp, JSON.stringify(FILE))
      renameSync(tmp, file)
      expect(await watch.check()).toBe('reloaded')
      expect(changes).toHaveLength(2)
      expect(changes[1]?.policies.get('beta')?.targets).toBeNull()
      expect(changes).toHaveLength(2)
    }))

  it('looks by itself every everyMs', () =>
    watching(20, async ({ file, changes }) => {
      writeFileSync(file, JSON.stringify({ ...FILE, admins: {} }))
      const deadline = Date.now() + 5000
      while (changes.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
      expect(changes[0]?.adminKeys).toEqual([])
    }))

  it('applies at the first look a file changed after the service read it (startedOn), not one unchanged', () =>
    withTempDir('tenants-started-on', async (dir) => {
      const file = join(dir, 'tenants.json')
      writeFileSync(file, JSON.stringify(FILE))
      const loaded = loadTenants(file, { env: ENV, targets: TARGETS })
      expect(loaded.digest).toMatch(/^[0-9a-f]{64}$/)
      const follow = (changes: Tenants[]) =>
        watchTenantsFile({
          file,
          env: ENV,
          targets: TARGETS,
          everyMs: 0,
          onChange: (t) => changes.push(t),
          onError: () => undefined,
          startedOn: loaded.digest as string,
        })
      const same: Tenants[] = []
      const unchanged = follow(same)
      expect(await unchanged.check()).toBe('unchanged')
      unchanged.close()
      // Changed while the service was starting: the watcher starts now, and still applies it.
      writeFileSync(file, JSON.stringify({ ...FILE, admins: {} }))
      const changes: Tenants[] = []
      const late = follow(changes)
      expect(await late.check()).toBe('reloaded')
      expect(changes[0]?.adminKeys).toEqual([])
      late.close()
    }))
})

describe("admission caps a tenant's imports not yet final", () => {
  const keys = testKeys('tenants-cap')
  const redis = createRedis(inject('redisUrl'), { connectionName: 'tenants-cap-test' })
  const store = createImportStore(redis, { keys })
  const admission = createAdmission(redis, { keys })
  afterAll(() => redis.disconnect())
  const input = (tenant: string): NewImport => ({
    id: newId('imp'),
    tenant,
    target: 'eu-de',
    request: { name: 'disk' },
  })

  it('counts in the same step as the write, frees a place on a final state, replays at the cap', async () => {
    const tenant = uniqueName('t')
    const rateLimit = { keyId: uniqueName('key'), perMinute: 1000 }
    // One written without admission (as an earlier release could have): it counts too.
    const old = await store.create(input(tenant))
    const two = [input(tenant), input(tenant)]
    const claim = { tenant, key: uniqueName('k'), bodyHash: 'h', answer: { response: { ok: 1 } } }
    expect(
      (await admission.admit({ rateLimit, idempotency: claim, imports: two, maxOpenImports: 3 })).kind,
    ).toBe('created')
    const over = await admission.admit({
      rateLimit,
      idempotency: null,
      imports: [input(tenant)],
      maxOpenImports: 3,
    })
    expect(over).toEqual({ kind: 'over_quota', open: 3, cap: 3 })
    // A batch that would go past it is refused whole, and writes nothing.
    const batch = [input(tenant), input(tenant)]
    expect(
      (await admission.admit({ rateLimit, idempotency: null, imports: batch, maxOpenImports: 4 })).kind,
    ).toBe('over_quota')
    expect(await store.getMany(batch.map((b) => b.id))).toEqual([null, null])
    // The same key and body is answered from its stored answer, even at the cap.
    expect(
      await admission.admit({ rateLimit, idempotency: claim, imports: [input(tenant)], maxOpenImports: 3 }),
    ).toEqual({
      kind: 'replay',
      answer: { response: { ok: 1 } },
    })
    // Other tenants are not counted; no cap, no count.
    expect(
      (
        await admission.admit({
          rateLimit,
          idempotency: null,
          imports: [input(uniqueName('t'))],
          maxOpenImports: 1,
        })
      ).kind,
    ).toBe('created')
    expect((await admission.admit({ rateLimit, idempotency: null, imports: [input(tenant)] })).kind).toBe(
      'created',
    )
    // Each state not final counts; a final one frees its place.
    await store.transition(old.id, 'submitting')
    await store.transition(two[0]?.id as string, 'submitting')
    await store.transition(two[0]?.id as string, 'submitted')
    expect(
      (await admission.admit({ rateLimit, idempotency: null, imports: [input(tenant)], maxOpenImports: 4 }))
        .kind,
    ).toBe('over_quota')
    await store.transition(old.id, 'failed')
    await store.transition(two[1]?.id as string, 'cancelled')
    expect(
      (await admission.admit({ rateLimit, idempotency: null, imports: [input(tenant)], maxOpenImports: 4 }))
        .kind,
    ).toBe('created')
  })
})
