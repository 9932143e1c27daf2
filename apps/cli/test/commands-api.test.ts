import { createApiClient, type GetBatchOptions } from '@ims-importer/api-client'
import type { ImportRecord } from '@ims-importer/core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createStateCounter } from '../src/commands/watch.js'
import { ExitCode } from '../src/exit-codes.js'
import { body, cli, startApi, type Tenant, tempFile } from './helpers.js'

let api: Awaited<ReturnType<typeof startApi>>
let tenant: Tenant
let other: Tenant
let env: Record<string, string>

beforeAll(async () => {
  api = await startApi(inject('redisUrl'), 2)
  tenant = api.tenants[0] as Tenant
  other = api.tenants[1] as Tenant
  env = { IMS_IMPORTER_URL: api.url, IMS_IMPORTER_API_KEY: tenant.key }
})
afterAll(async () => {
  await api?.close()
})

/** What the worker would do: move an import through IMS to a final state. */
async function finish(record: ImportRecord, outcome: 'succeeded' | 'failed') {
  const { store } = api.deps
  await store.transition(record.id, 'submitting')
  await store.transition(record.id, 'submitted', {
    ims: { job_id: `job-${record.id}`, job_status: 'RUNNING' },
  })
  if (outcome === 'succeeded')
    await store.transition(record.id, 'succeeded', {
      ims: { job_status: 'SUCCESS', image_id: `img-${record.id}` },
    })
  else
    await store.transition(record.id, 'failed', {
      ims: {
        job_status: 'FAIL',
        error_code: 'IMG.0058',
        fail_reason: 'The OBS bucket is not in this region.',
      },
      error: { source: 'ims', code: 'IMG.0058', message: 'The OBS bucket is not in this region.' },
    })
}

describe('submit against the real API', () => {
  it('reports lines refused locally and by the API by line number, with field and IMS code; exit 1', async () => {
    const file = await tempFile(
      'mixed.jsonl',
      [
        JSON.stringify(body(1)),
        '{"name": "broken"',
        JSON.stringify({ ...body(3), min_disk: 5000 }),
        '',
        JSON.stringify(body(5)),
      ].join('\n'),
    )
    const r = await cli(['submit', file, '--chunk-size', '2', '--external-id', 'mixed-run'], env)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(ExitCode.failures)
    expect(r.stdout).toMatch(/^chunk 1\/2 \(lines 1-3\): 1 accepted, 1 rejected, batch bat_\w+$/m)
    expect(r.stdout).toMatch(/^chunk 2\/2 \(lines 5-5\): 1 accepted, 0 rejected/m)
    expect(r.stdout).toMatch(/^ {2}queued +2$/m)
    expect(r.stdout).toMatch(/^ {2}rejected +2$/m)
    expect(r.stdout).toMatch(/^ {2}line 2: not valid JSON/m)
    expect(r.stdout).toMatch(
      /^ {2}line 3: min_disk: min_disk must be between 1 and 1024 GB; got 5000 \[IMG\.0055\]$/m,
    )
  })

  it('reports a chunk whose every item is invalid without stopping the others', async () => {
    const file = await tempFile(
      'bad-chunk.csv',
      [
        'name,image_url,os_version,min_disk,tags',
        'a,bucket:a.raw,CentOS 7.0 64bit,0,',
        'b,bucket:b.raw,CentOS 7.0 64bit,40,x.1;y.2',
      ].join('\n'),
    )
    const r = await cli(['submit', file, '--chunk-size', '1'], env)
    expect(r.code).toBe(ExitCode.failures)
    expect(r.stdout).toMatch(/^chunk 1\/2 \(lines 2-2\): 0 accepted, 1 rejected, no batch created$/m)
    expect(r.stdout).toMatch(/^chunk 2\/2 \(lines 3-3\): 1 accepted, 0 rejected, batch bat_\w+$/m)
    expect(r.stdout).toMatch(/^ {2}line 2: min_disk: .*\[IMG\.0055\]$/m)
    const records = await api.allImports(tenant.name)
    expect(records.find((x) => x.request.name === 'b')?.request.tags).toEqual(['x.1', 'y.2'])
  })

  it('with --wait, follows the imports to their final state and lists failures with line, IMS code and reason', async () => {
    const file = await tempFile(
      'wait.jsonl',
      [1, 2, 3].map((i) => JSON.stringify({ ...body(i), external_id: `wait-${i}` })).join('\n'),
    )
    const run = cli(['submit', file, '--wait', '--interval', '1'], env)
    // Play the worker once the three imports exist: two succeed, the one from line 2 fails.
    let mine: ImportRecord[] = []
    for (let i = 0; i < 100 && mine.length < 3; i++) {
      mine = (await api.allImports(tenant.name)).filter((x) => x.external_id?.startsWith('wait-'))
      if (mine.length < 3) await new Promise((r) => setTimeout(r, 50))
    }
    expect(mine).toHaveLength(3)
    await new Promise((r) => setTimeout(r, 1200))
    for (const record of mine) await finish(record, record.external_id === 'wait-2' ? 'failed' : 'succeeded')

    const r = await run
    expect(r.code).toBe(ExitCode.failures)
    // stdout is not a TTY here: plain progress lines, no carriage returns or escape codes.
    expect(r.stdout).toMatch(/^progress: 0\/3 final \(0%\) \| queued 3 \| rate -, ETA -$/m)
    expect(r.stdout).toMatch(/^progress: 3\/3 final \(100%\) \| succeeded 2, failed 1 \| [\d.]+\/s, done$/m)
    expect(r.stdout).not.toContain('\r')
    expect(r.stdout).toMatch(/^ {2}succeeded +2$/m)
    expect(r.stdout).toMatch(/^ {2}failed +1$/m)
    const failed = mine.find((x) => x.external_id === 'wait-2') as ImportRecord
    expect(r.stdout).toMatch(
      new RegExp(`^ {2}2 +${failed.id} +IMG\\.0058 +The OBS bucket is not in this region\\.$`, 'm'),
    )

    // status, list and watch on what is there now.
    const status = await cli(['status', failed.id], env)
    expect(status.code).toBe(ExitCode.ok)
    expect(status.stdout).toMatch(/^status +failed$/m)
    expect(status.stdout).toMatch(/^error +IMG\.0058 The OBS bucket is not in this region\. \(from ims\)$/m)
    expect(status.stdout).toMatch(new RegExp(`^ims job +job-${failed.id} \\(FAIL\\)$`, 'm'))

    const batchId = failed.batch_id as string
    const batch = await cli(['status', batchId], env)
    expect(batch.stdout).toMatch(/^imports +3$/m)
    expect(batch.stdout).toMatch(/^ {2}succeeded +2$/m)
    expect(batch.stdout).toMatch(new RegExp(`^ {2}#1 +${failed.id} +failed +wait-2 IMG\\.0058$`, 'm'))

    const list = await cli(['list', '--status', 'failed', '--limit', '5'], env)
    expect(list.code).toBe(ExitCode.ok)
    expect(list.stdout).toContain(failed.id)
    expect(list.stdout.trim().split('\n')).toHaveLength(2)

    const watch = await cli(['watch', batchId], env)
    expect(watch.code).toBe(ExitCode.failures)
    expect(watch.stdout).toMatch(/^progress: 3\/3 final/m)
    expect(watch.stdout).toMatch(new RegExp(`^ {2}- +${failed.id} +IMG\\.0058`, 'm'))
  })

  it('exits 0 from watch when everything succeeded', async () => {
    const file = await tempFile('ok.jsonl', JSON.stringify({ ...body(9), external_id: 'ok-1' }))
    const r = await cli(['submit', file], env)
    expect(r.code).toBe(ExitCode.ok)
    const record = (await api.allImports(tenant.name)).find((x) => x.external_id === 'ok-1') as ImportRecord
    await finish(record, 'succeeded')
    const watch = await cli(['watch', record.batch_id as string, record.id], env)
    expect(watch.code).toBe(ExitCode.ok)
    expect(watch.stdout).toMatch(/^ {2}succeeded +2$/m)
  })
})

describe('watching many batches', () => {
  it('stops asking about a batch once all its imports are final', async () => {
    const ids: string[] = []
    for (const name of ['settled', 'open']) {
      const file = await tempFile(
        `${name}.jsonl`,
        JSON.stringify({ ...body(1), external_id: `counter-${name}` }),
      )
      const r = await cli(['submit', file], env)
      expect(r.code).toBe(ExitCode.ok)
    }
    const records = (await api.allImports(tenant.name)).filter((x) => x.external_id?.startsWith('counter-'))
    const settled = records.find((x) => x.external_id === 'counter-settled') as ImportRecord
    const open = records.find((x) => x.external_id === 'counter-open') as ImportRecord
    await finish(settled, 'succeeded')
    ids.push(settled.batch_id as string, open.batch_id as string)

    const real = createApiClient({ baseUrl: api.url, apiKey: tenant.key })
    const asked: string[] = []
    const client = {
      ...real,
      getBatch: (id: string, options?: GetBatchOptions) => {
        asked.push(id)
        return real.getBatch(id, options)
      },
    }
    const sink = { write: () => {} }
    const counter = createStateCounter({ client, stdout: sink, stderr: sink }, ids)
    expect(await counter.count()).toEqual({ succeeded: 1, queued: 1 })
    expect(counter.pending()).toBe(1)
    expect(await counter.count()).toEqual({ succeeded: 1, queued: 1 })
    expect(asked).toEqual([settled.batch_id, open.batch_id, open.batch_id])
  })
})

describe('errors from the API', () => {
  it('a wrong key is one line without the key, exit 2', async () => {
    const r = await cli(['list'], { ...env, IMS_IMPORTER_API_KEY: 'wrong-secret-key-123' })
    expect(r.code).toBe(ExitCode.usage)
    expect(r.stderr).toMatch(/^ims-importer: GET \/v1\/imports: Unauthorized \(401\).*\n$/)
    expect(r.stderr).not.toContain('wrong-secret-key-123')
    expect(r.stdout).toBe('')
  })

  it("another tenant's import is not found, exit 3", async () => {
    const mine = (await api.allImports(tenant.name))[0] as ImportRecord
    const r = await cli(['status', mine.id], { ...env, IMS_IMPORTER_API_KEY: other.key })
    expect(r.code).toBe(ExitCode.api)
    expect(r.stderr).toMatch(new RegExp(`^ims-importer: GET /v1/imports/${mine.id}: Not found \\(404\\)`))
    expect(r.stderr.split('\n')).toHaveLength(2)
  })
})
