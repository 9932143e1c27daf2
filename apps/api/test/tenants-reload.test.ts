import { hash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadTenants } from '@ims-importer/core'
import { testKeys, uniqueName, withTempDir } from '@ims-importer/core/testing'
import { spawnApi } from '@ims-importer/testkit'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { followTenantsFile } from '../src/tenants-reload.js'
import { PAGE_EXAMPLE, startTestApi, type TestApi } from './helpers.js'

/*
 * The tenants file followed while the API runs (tenants-reload.ts): a changed file's keys and
 * policies apply from the next request, a bad one is refused and the policy in use stays, and
 * SIGHUP reads it at once.
 */

const sha = (key: string) => `sha256:${hash('sha256', key)}`
const body = (bucket: string, target: string) => ({
  ...PAGE_EXAMPLE,
  image_url: `${bucket}:web01/sys.zvhd2`,
  target,
})

describe('TENANTS_FILE changed while the API runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'api-tenants-reload-'))
  const file = join(dir, 'tenants.json')
  const [alpha, beta] = [uniqueName('alpha'), uniqueName('beta')]
  const [t1, t2] = [uniqueName('t1'), uniqueName('t2')]
  const write = (tenants: Record<string, unknown>, admins: Record<string, unknown> = {}) =>
    writeFileSync(file, JSON.stringify({ tenants, admins }))
  let api: TestApi
  let watch: ReturnType<typeof followTenantsFile>

  beforeAll(async () => {
    write({ [alpha]: { apiKeys: [sha('alpha-key')], targets: [t1], buckets: ['alpha-*'] } })
    const tenants = loadTenants(file, { env: {}, targets: [t1, t2] })
    api = await startTestApi(
      inject('redisUrl'),
      {
        apiKeys: tenants.apiKeys,
        adminKeys: tenants.adminKeys,
        tenantPolicies: tenants.policies,
        tenantsFile: file,
        tenantsReloadMs: 0,
      },
      undefined,
      { tenants: [alpha, beta], targets: [t1, t2] },
    )
    watch = followTenantsFile(api.deps, {})
  })
  afterAll(async () => {
    watch?.close()
    await api?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const post = (key: string, payload: object) =>
    api.app.inject({
      method: 'POST',
      url: '/v1/imports',
      headers: { authorization: `Bearer ${key}` },
      payload,
    })
  const list = (key: string) =>
    api.app.inject({ url: '/v1/imports', headers: { authorization: `Bearer ${key}` } })

  it('applies new keys, tenants and rules from the next request; refuses a bad file and keeps the policy', async () => {
    expect((await post('alpha-key', body('alpha-disks', t1))).statusCode).toBe(202)
    expect((await list('beta-key')).statusCode).toBe(401)

    // alpha's key is rotated and it moves to t2 with other buckets; beta and an admin arrive.
    write(
      {
        [alpha]: { apiKeys: [sha('alpha-key-2')], targets: [t2], buckets: ['alpha2-*'] },
        [beta]: { apiKeys: [sha('beta-key')], targets: '*', buckets: ['*'] },
      },
      { ops: { apiKeys: [sha('ops-key')] } },
    )
    expect(await watch?.check()).toBe('reloaded')
    expect((await list('alpha-key')).statusCode).toBe(401)
    const moved = await post('alpha-key-2', body('alpha-disks', t1))
    expect(moved.statusCode).toBe(403)
    expect(moved.json().detail).toMatch(/target/)
    const bucket = await post('alpha-key-2', body('alpha-disks', t2))
    expect(bucket.statusCode).toBe(403)
    expect(bucket.json().detail).toMatch(/bucket/)
    expect((await post('alpha-key-2', body('alpha2-disks', t2))).statusCode).toBe(202)
    expect((await post('beta-key', body('anything', t1))).statusCode).toBe(202)
    // The file's new admin opens the queue UI.
    const board = await api.app.inject({
      url: '/admin/queues/api/queues',
      headers: { authorization: 'Bearer ops-key' },
    })
    expect(board.statusCode).toBe(200)

    // A file naming a target that is not configured: refused, and everything above still holds.
    write({ [beta]: { apiKeys: [sha('beta-key')], targets: ['nowhere'], buckets: ['*'] } })
    expect(await watch?.check()).toBe('refused')
    expect((await post('alpha-key-2', body('alpha2-disks', t2))).statusCode).toBe(202)
    expect((await list('beta-key')).statusCode).toBe(200)
  })
})

describe('SIGHUP', () => {
  it(
    'makes an API process read its tenants file again at once',
    () =>
      withTempDir('api-tenants-hup', async (dir) => {
        const file = join(dir, 'tenants.json')
        const write = (keys: string[]) =>
          writeFileSync(
            file,
            JSON.stringify({ tenants: { hup: { apiKeys: keys.map(sha), targets: '*', buckets: ['*'] } } }),
          )
        write(['old-key'])
        const api = await spawnApi(
          {
            PATH: process.env.PATH,
            REDIS_URL: inject('redisUrl'),
            TENANTS_FILE: file,
            // Only the signal reads it again.
            TENANTS_RELOAD_MS: '0',
            LOG_LEVEL: 'warn',
          },
          { namespace: testKeys('tenants-hup') },
        )
        try {
          const status = async (key: string) =>
            (await fetch(`${api.url}/v1/imports`, { headers: { authorization: `Bearer ${key}` } })).status
          expect(await status('old-key')).toBe(200)
          expect(await status('new-key')).toBe(401)
          write(['new-key'])
          // Sent, not awaited: the process goes on running (ServiceProcess.kill waits for an exit).
          process.kill(api.pid, 'SIGHUP')
          const deadline = Date.now() + 10_000
          while ((await status('new-key')) !== 200 && Date.now() < deadline)
            await new Promise((r) => setTimeout(r, 50))
          expect(await status('new-key')).toBe(200)
          expect(await status('old-key')).toBe(401)
        } finally {
          await api.stop()
        }
      }),
    60_000,
  )
})
