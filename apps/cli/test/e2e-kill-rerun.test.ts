import { outboxedImports, submitWorkCount } from '@ims-importer/core/testing'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { body, spawnCli, startApi, tempFile } from './helpers.js'

const LINES = 2000
let api: Awaited<ReturnType<typeof startApi>>

beforeAll(async () => {
  api = await startApi(inject('redisUrl'), 1)
})
afterAll(async () => {
  await api?.close()
})

describe('submit killed midway and run again', () => {
  it('ends with exactly one import per line and prints the summary', async () => {
    const tenant = api.tenants[0] as { name: string; key: string }
    const lines = Array.from({ length: LINES }, (_, i) =>
      JSON.stringify({ ...body(i), external_id: `line-${i + 1}` }),
    )
    const file = await tempFile('migration.jsonl', `${lines.join('\n')}\n`)
    const env = { IMS_IMPORTER_URL: api.url, IMS_IMPORTER_API_KEY: tenant.key }
    const argv = ['submit', file, '--chunk-size', '100']

    // First run: SIGKILL as soon as the second of 20 chunks is reported accepted.
    const first = spawnCli(argv, env)
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (/^chunk 2\/20 /m.test(first.output())) {
          clearInterval(timer)
          first.child.kill('SIGKILL')
          resolve()
        }
        if (first.child.exitCode !== null) {
          clearInterval(timer)
          reject(new Error(`the CLI ended before it could be killed:\n${first.output()}`))
        }
      }, 5)
    })
    const killed = await first.exited
    expect(killed.signal).toBe('SIGKILL')
    expect(killed.stdout).not.toContain('Summary')
    // Let a chunk that was in flight at the kill finish on the API side, then look.
    await new Promise((r) => setTimeout(r, 300))
    const afterKill = (await api.allImports(tenant.name)).length
    expect(afterKill).toBeGreaterThanOrEqual(200)
    expect(afterKill).toBeLessThan(LINES)

    // Second run: the same command. Chunks sent before are replayed, the rest are new.
    const second = await spawnCli(argv, env).exited
    expect(second.stderr).toBe('')
    expect(second.code).toBe(0)
    expect(second.stdout).toMatch(
      /^chunk 1\/20 \(lines 1-100\): 100 accepted, 0 rejected, batch bat_\w+ \(replayed: sent before\)$/m,
    )
    expect(second.stdout).toMatch(
      /^chunk 20\/20 \(lines 1901-2000\): 100 accepted, 0 rejected, batch bat_\w+$/m,
    )
    expect(second.stdout).toContain('Summary')
    expect(second.stdout).toMatch(/^ {2}queued +2000$/m)
    expect(second.stdout).toMatch(/^ {2}total +2000$/m)
    expect(second.stdout).toMatch(/^ {2}rejected +0$/m)
    expect(second.stdout).toContain('Result: ok')

    // The store: exactly one import per line of the file, none twice, each with its submit work
    // once (no worker runs here: it is the import's submit-outbox entry, or its job).
    const records = await api.allImports(tenant.name)
    expect(records).toHaveLength(LINES)
    const externalIds = new Set(records.map((r) => r.external_id))
    expect(externalIds.size).toBe(LINES)
    expect(externalIds.has('line-1')).toBe(true)
    expect(externalIds.has(`line-${LINES}`)).toBe(true)
    const batches = new Set(records.map((r) => r.batch_id))
    expect(batches.size).toBe(20)
    const outboxed = await outboxedImports(api.deps.redis, api.deps.queues, api.target)
    expect(new Set(outboxed).size).toBe(outboxed.length)
    expect(await submitWorkCount(api.deps.redis, api.deps.queues, api.target)).toBe(LINES)
  }, 60_000)
})
