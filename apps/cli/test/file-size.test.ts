import { createApiClient } from '@ims-importer/api-client'
import type { FileInfo } from '@ims-importer/core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { formatBytes } from '../src/bytes.js'
import { ExitCode } from '../src/exit-codes.js'
import { body, cli, startApi, type Tenant, watchLines } from './helpers.js'

// The image file's size (the pre-flight writes `file` on the record) in `status` and `watch`,
// against the real API; the records are moved as the worker would.

const GIB = 2 ** 30
let api: Awaited<ReturnType<typeof startApi>>
let tenant: Tenant
let env: Record<string, string>

beforeAll(async () => {
  api = await startApi(inject('redisUrl'), 1)
  tenant = api.tenants[0] as Tenant
  env = { IMS_IMPORTER_URL: api.url, IMS_IMPORTER_API_KEY: tenant.key }
})
afterAll(async () => {
  await api?.close()
})

const fileOf = (size_bytes: number): FileInfo => ({
  size_bytes,
  storage_class: 'STANDARD',
  region: 'eu-de',
  checked_at: new Date().toISOString(),
})

/** The pre-flight found `file`, then IMS runs the job. */
async function checkedAndRunning(id: string, file: FileInfo) {
  const { store } = api.deps
  await store.transition(id, 'submitting', { file })
  await store.transition(id, 'submitted', { ims: { job_id: `job-${id}` } })
  await store.transition(id, 'running')
}

describe('formatBytes', () => {
  it('writes binary units with three significant digits', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(1023)).toBe('1023 B')
    expect(formatBytes(2621440)).toBe('2.50 MiB')
    expect(formatBytes(9094299648)).toBe('8.47 GiB')
    expect(formatBytes(80 * GIB)).toBe('80.0 GiB')
    expect(formatBytes(500 * GIB)).toBe('500 GiB')
    expect(formatBytes(2 ** 40)).toBe('1.00 TiB')
  })
})

describe('status shows the file size', () => {
  it('of one import (human units, bytes, class and region), and none before the pre-flight', async () => {
    const client = createApiClient({ baseUrl: api.url, apiKey: tenant.key })
    const { value } = await client.createImport(body(1))
    const before = await cli(['status', value.id], env)
    expect(before.code).toBe(ExitCode.ok)
    expect(before.stdout).not.toMatch(/^file/m)

    await checkedAndRunning(value.id, fileOf(9094299648))
    const after = await cli(['status', value.id], env)
    expect(after.stdout).toMatch(/^file {8}8\.47 GiB \(9094299648 bytes; STANDARD, eu-de\)$/m)
  })

  it("of a batch's items and the batch in all", async () => {
    const client = createApiClient({ baseUrl: api.url, apiKey: tenant.key })
    const { value } = await client.createBatch({ items: [body(2), body(3), body(4)] })
    const [a, b] = value.imports.map((i) => i.id) as [string, string]
    await checkedAndRunning(a, fileOf(12 * GIB))
    await checkedAndRunning(b, fileOf(37.5 * GIB))
    const r = await cli(['status', value.id], env)
    expect(r.code).toBe(ExitCode.ok)
    expect(r.stdout).toMatch(/^files {7}49\.5 GiB in all, 1 not checked yet$/m)
    expect(r.stdout).toMatch(new RegExp(`#0 +${a} +running +12\\.0 GiB`))
    expect(r.stdout).toMatch(new RegExp(`#1 +${b} +running +37\\.5 GiB`))
  })
})

describe('watch shows the file size', () => {
  it('of each running import, of a batch and alone', async () => {
    const client = createApiClient({ baseUrl: api.url, apiKey: tenant.key })
    const batch = (await client.createBatch({ items: [body(5), body(6)] })).value
    const single = (await client.createImport(body(7))).value
    const [a, b] = batch.imports.map((i) => i.id) as [string, string]
    await checkedAndRunning(a, fileOf(80 * GIB))
    // b runs without a known size (a target without pre-flight).
    await api.deps.store.transition(b, 'submitting')
    await api.deps.store.transition(b, 'submitted', { ims: { job_id: `job-${b}` } })
    await api.deps.store.transition(b, 'running')
    await checkedAndRunning(single.id, fileOf(2621440))

    const { lines } = await watchLines(client, [batch.id, single.id], async () => {
      for (const id of [a, b, single.id]) await api.deps.store.transition(id, 'succeeded')
    })
    expect(lines).toContain(`  running ${a} 80.0 GiB ETA -`)
    expect(lines).toContain(`  running ${b} ETA -`)
    expect(lines).toContain(`  running ${single.id} 2.50 MiB ETA -`)
  })
})
