import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { enqueueSubmit, loadTenants, newId, unrestrictedPolicy } from '@ims-importer/core'
import { withTempDir } from '@ims-importer/core/testing'
import { describe, expect, it } from 'vitest'
import { followTenantsFile } from '../src/tenants-reload.js'
import { workerTestFile } from './helpers/fixtures.js'
import { systemBody, waitAllFinal } from './helpers/harness.js'

/** This file's own namespace; what its tests start is closed after it. */
const f = workerTestFile('tenant-policy')

/*
 * The tenant policy is checked again before a submission (issue 16): the tenants file may have
 * changed since intake. An import its tenant may no longer make fails `policy_denied`, and IMS
 * never sees a POST for it.
 */
describe('the policy re-check before a submission', () => {
  it('fails imports of a bucket or target the tenant lost, and of a tenant no longer listed, without a POST', async () => {
    const { t, intake } = await f.simRuntime(
      'pol',
      {},
      {
        tenantPolicies: new Map([
          ['tenant-a', { ...unrestrictedPolicy('tenant-a'), buckets: ['allowed-*'] }],
          ['tenant-b', { ...unrestrictedPolicy('tenant-b'), targets: ['another-target'] }],
        ]),
      },
    )
    const target = t.target.name
    const submit = async (tenant: string, request: Record<string, unknown>) => {
      const id = newId('imp')
      await intake.store.create({ id, tenant, target, request })
      await enqueueSubmit(intake.queues, target, id)
      return id
    }
    // tenant-a: one allowed bucket, one it may no longer read (accepted under an older policy).
    const allowed = await submit('tenant-a', { ...systemBody(1), image_url: 'allowed-bucket:disks/ok.zvhd2' })
    const lostBucket = await submit('tenant-a', systemBody(2))
    // tenant-b may no longer use this target; tenant-c is gone from the file.
    const lostTarget = await submit('tenant-b', systemBody(3))
    const gone = await submit('tenant-c', systemBody(4))

    const records = await waitAllFinal(intake, [allowed, lostBucket, lostTarget, gone], 20_000)
    const byId = new Map(records.map((r) => [r.id, r]))
    expect(byId.get(allowed)?.status).toBe('succeeded')
    for (const [id, message] of [
      [lostBucket, 'bucket "bucket" is no longer one tenant tenant-a may import from'],
      [lostTarget, `tenant tenant-b may no longer use target "${target}"`],
      [gone, 'tenant tenant-c is no longer in the tenant policy'],
    ] as const)
      expect(byId.get(id), id).toMatchObject({
        status: 'failed',
        error: { source: 'service', code: 'policy_denied', message },
        attempts: { submit: 0 },
      })
    // One POST: the allowed import's.
    expect(t.sim.control.counters().totalCreates).toBe(1)
  })
})

describe('the tenants file changed while the worker runs', () => {
  it('re-checks each submission against the file as it is now (reloaded), not as it was at start', () =>
    withTempDir('worker-tenants', async (dir) => {
      const file = join(dir, 'tenants.json')
      const write = (buckets: string[]) =>
        writeFileSync(
          file,
          JSON.stringify({
            tenants: { 'tenant-r': { apiKeys: [`sha256:${'0'.repeat(64)}`], targets: '*', buckets } },
          }),
        )
      write(['old-*'])
      const { t, intake, runtime } = await f.simRuntime(
        'reload',
        {},
        {
          tenantsFile: file,
          tenantsReloadMs: 0,
          tenantPolicies: loadTenants(file, { env: {}, targets: [] }).policies,
        },
      )
      // The bucket moves: imports accepted for the old one must not reach IMS any more.
      const watch = followTenantsFile(runtime.deps, {})
      write(['new-*'])
      expect(await watch?.check()).toBe('reloaded')
      watch?.close()
      const submit = async (bucket: string) => {
        const id = newId('imp')
        await intake.store.create({
          id,
          tenant: 'tenant-r',
          target: t.target.name,
          request: { ...systemBody(1), image_url: `${bucket}:disks/ok.zvhd2` },
        })
        await enqueueSubmit(intake.queues, t.target.name, id)
        return id
      }
      const [old, now] = [await submit('old-bucket'), await submit('new-bucket')]
      const [a, b] = await waitAllFinal(intake, [old, now], 20_000)
      expect(a).toMatchObject({ status: 'failed', error: { code: 'policy_denied' }, attempts: { submit: 0 } })
      expect(a?.error?.message).toContain('old-bucket')
      expect(b?.status).toBe('succeeded')
      expect(t.sim.control.counters().totalCreates).toBe(1)
    }))
})
