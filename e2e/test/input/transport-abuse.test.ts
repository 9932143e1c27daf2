import { testKeys } from '@ims-importer/core/testing'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { PAGE_EXAMPLES } from '../../../packages/core/test/fixtures/invalid-bodies.js'
import { startTestApi, type TestApi } from '../../src/input/test-api.js'

/** This file's own Redis namespace: files run side by side on one Redis. */
const ns = testKeys('transport-abuse')

/*
 * Abuse of the transport, through a real listening port (undici): bodies over the limits, deep
 * nesting, wrong content types, bytes that are not UTF-8, broken JSON, huge batches and fields.
 * Each gets a clear 4xx problem, and afterwards the process still answers /livez and still
 * accepts a valid import.
 */
let api: TestApi
let base: string
const EXAMPLE = PAGE_EXAMPLES[0]?.body as Record<string, unknown>

beforeAll(async () => {
  api = await startTestApi(inject('redisUrl'), ns, { config: { logLevel: 'warn' } })
  base = await api.listen()
})
afterAll(async () => {
  for (const t of api?.targets ?? []) await api.deps.queues.submit(t).obliterate({ force: true })
  await api?.close()
})

interface Sent {
  status: number
  contentType: string
  text: string
  json: Record<string, unknown> | null
}

async function send(
  path: string,
  body: string | Buffer | undefined,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<Sent> {
  const res = await request(`${base}${path}`, {
    method: 'POST',
    headers: { ...api.auth(api.tenants[0]), ...headers },
    body,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  })
  const text = await res.body.text()
  let json: Record<string, unknown> | null = null
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {}
  return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), text, json }
}

/** A clear problem: the status, problem+json, a detail that says what is wrong, and a small answer. */
function expectProblem(res: Sent, status: number, detail?: RegExp) {
  expect(res.status, res.text.slice(0, 300)).toBe(status)
  expect(res.contentType).toContain('application/problem+json')
  expect(res.json).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) })
  if (detail) expect(String(res.json?.detail)).toMatch(detail)
  // An error answer never echoes a huge input back.
  expect(res.text.length).toBeLessThan(16 * 1024)
}

async function stillHealthy() {
  const live = await request(`${base}/livez`)
  expect(live.statusCode).toBe(200)
  expect(await live.body.json()).toEqual({ status: 'ok' })
  const ok = await send('/v1/imports', JSON.stringify(EXAMPLE))
  expect(ok.status, ok.text.slice(0, 300)).toBe(202)
}

const nested = (open: string, close: string, depth: number, inner = '1') =>
  `${open.repeat(depth)}${inner}${close.repeat(depth)}`

describe('transport abuse over a real port', () => {
  it('refuses bodies over the limits with 413', async () => {
    expectProblem(
      await send('/v1/imports', JSON.stringify({ ...EXAMPLE, description: 'd'.repeat(70_000) })),
      413,
    )
    const items = Array.from({ length: 1000 }, () => ({ ...EXAMPLE, description: 'd'.repeat(4500) }))
    expectProblem(await send('/v1/batches', JSON.stringify({ items })), 413)
    // A 5 MB string field, on either route.
    const fiveMb = 'x'.repeat(5 * 1024 * 1024)
    expectProblem(await send('/v1/imports', JSON.stringify({ ...EXAMPLE, name: fiveMb })), 413)
    expectProblem(
      await send('/v1/batches', JSON.stringify({ items: [{ ...EXAMPLE, description: fiveMb }] })),
      413,
    )
    await stillHealthy()
  })

  it('answers a 3 MB field under the batch limit with a short 400 that does not echo it', async () => {
    const res = await send(
      '/v1/batches',
      JSON.stringify({ items: [{ ...EXAMPLE, description: 'y'.repeat(3 * 1024 * 1024) }] }),
    )
    expectProblem(res, 400)
    expect(res.json?.errors).toEqual([
      expect.objectContaining({ path: 'items[0].description', ims_code: 'IMG.0004' }),
    ])
    await stillHealthy()
  })

  it('answers deeply nested JSON (100,000 levels) with 400, also beside a valid item under an Idempotency-Key', async () => {
    // Single imports: 60,000 levels fit under the 64 KiB limit.
    expectProblem(await send('/v1/imports', nested('[', ']', 30_000)), 400)
    expectProblem(await send('/v1/imports', '['.repeat(60_000)), 400, /not valid JSON/)
    expectProblem(await send('/v1/imports', nested('{"a":', '}', 10_000)), 400)
    // Batches: 100,000 levels as one item.
    const deepArray = nested('[', ']', 100_000)
    const deepObject = nested('{"name":', '}', 100_000, '"x"')
    expectProblem(await send('/v1/batches', `{"items":[${deepArray}]}`), 400)
    expectProblem(await send('/v1/batches', `{"items":[${deepObject}]}`), 400)
    expectProblem(await send('/v1/batches', `{"items":[${'['.repeat(100_000)}`), 400, /not valid JSON/)
    // A valid item beside a deep one: the valid one is accepted, the deep one listed as invalid,
    // and the Idempotency-Key (which hashes the whole body) copes with the depth.
    for (const deep of [deepArray, deepObject]) {
      const res = await send('/v1/batches', `{"items":[${JSON.stringify(EXAMPLE)},${deep}]}`, {
        'content-type': 'application/json',
        'idempotency-key': `deep-${Math.random()}`,
      })
      expect(res.status, res.text.slice(0, 300)).toBe(202)
      expect(res.json).toMatchObject({ accepted: 1, rejected: 1 })
    }
    await stillHealthy()
  })

  it('answers other content types with 415', async () => {
    const body = JSON.stringify(EXAMPLE)
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'application/octet-stream',
      'text/json',
      'application/jsonp',
    ]) {
      expectProblem(
        await send('/v1/imports', body, { 'content-type': type }),
        415,
        /Content-Type: application\/json/,
      )
      expectProblem(
        await send('/v1/batches', JSON.stringify({ items: [EXAMPLE] }), { 'content-type': type }),
        415,
      )
    }
    // No Content-Type on a body at all.
    expectProblem(await send('/v1/imports', Buffer.from(body), {}), 415)
    // application/json with parameters is JSON.
    expect(
      (await send('/v1/imports', body, { 'content-type': 'application/json; charset=utf-8' })).status,
    ).toBe(202)
    await stillHealthy()
  })

  it('refuses bytes that are not UTF-8 instead of storing replacement characters', async () => {
    const prefix = Buffer.from(JSON.stringify({ ...EXAMPLE, description: 'MARK' }).split('MARK')[0] as string)
    const suffix = Buffer.from(JSON.stringify({ ...EXAMPLE, description: 'MARK' }).split('MARK')[1] as string)
    for (const bad of [
      [0xff, 0xfe],
      [0xc3, 0x28],
      [0xe2, 0x82],
      [0xed, 0xa0, 0x80], // an encoded surrogate
      [0xc0, 0xaf], // an overlong "/"
    ]) {
      const res = await send('/v1/imports', Buffer.concat([prefix, Buffer.from(bad), suffix]))
      expectProblem(res, 400, /UTF-8/)
    }
    // Latin-1 bytes declared as such are still not JSON as this API takes it.
    const latin1 = Buffer.from(JSON.stringify({ ...EXAMPLE, description: 'café' }), 'latin1')
    expectProblem(await send('/v1/imports', latin1), 400, /UTF-8/)
    await stillHealthy()
  })

  it('answers truncated JSON, an empty body, prototype keys and non-object bodies with 400', async () => {
    const body = JSON.stringify(EXAMPLE)
    for (const cut of [1, 10, body.length / 2, body.length - 1])
      expectProblem(await send('/v1/imports', body.slice(0, cut)), 400, /not valid JSON/)
    const empty = await send('/v1/imports', '')
    expectProblem(empty, 400)
    expect(empty.json?.errors).toEqual([expect.objectContaining({ path: '' })])
    expectProblem(await send('/v1/imports', undefined, {}), 400)
    for (const raw of ['{"__proto__":{"x":1},"name":"a"}', '{"constructor":{"prototype":{"x":1}}}']) {
      expectProblem(await send('/v1/imports', raw), 400)
      expectProblem(await send('/v1/batches', `{"items":[${raw}]}`), 400)
    }
    for (const raw of ['null', '42', '"name=x"', 'true', '[]', `[${body}]`]) {
      const res = await send('/v1/imports', raw)
      expectProblem(res, 400)
      expect(res.json?.errors).toEqual([expect.objectContaining({ path: '', ims_code: 'IMG.0001' })])
    }
    await stillHealthy()
  })

  it('refuses batches of 1001 and of 100,000 items, naming items', async () => {
    for (const n of [1001, 100_000]) {
      const res = await send('/v1/batches', JSON.stringify({ items: Array.from({ length: n }, () => ({})) }))
      expectProblem(res, 400)
      expect(res.json?.errors).toEqual([
        expect.objectContaining({ path: 'items', message: expect.any(String) }),
      ])
    }
    // 1000 is the limit: accepted.
    const ok = await send(
      '/v1/batches',
      JSON.stringify({ items: Array.from({ length: 1000 }, () => EXAMPLE) }),
    )
    expect(ok.status, ok.text.slice(0, 300)).toBe(202)
    expect(ok.json).toMatchObject({ accepted: 1000, rejected: 0 })
    await stillHealthy()
  })
})
