import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ApiError, ApiNetworkError, createApiClient, parseRetryAfter } from '../src/index.js'

const KEY = 'sk-very-secret-test-key'

interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

type Handler = (req: Seen, res: ServerResponse, n: number) => void

let server: Server | undefined

async function serve(handler: Handler): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = []
  server = createServer(async (req, res) => {
    let body = ''
    for await (const c of req) body += c
    const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body }
    seen.push(s)
    handler(s, res, seen.length)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

afterEach(async () => {
  server?.closeAllConnections()
  server?.close()
  server = undefined
})

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}

const problem = (status: number, title: string, extra: object = {}) => ({
  type: `urn:test:${status}`,
  title,
  status,
  detail: `${title} detail`,
  ...extra,
})

const batch = {
  id: 'bat_1',
  external_id: null,
  created_at: '2025-01-01T00:00:00.000Z',
  accepted: 1,
  rejected: 1,
  imports: [{ index: 0, id: 'imp_1', target: 't1' }],
  errors: [{ index: 1, errors: [{ path: 'items[1].min_disk', message: 'too big', ims_code: 'IMG.0055' }] }],
}

const noSleep = { sleep: async () => {} }

describe('api client', () => {
  it('sends the bearer key and the idempotency key, and reads a replayed batch answer', async () => {
    const { url, seen } = await serve((_req, res) => json(res, 202, batch, { 'idempotent-replayed': 'true' }))
    const client = createApiClient({ baseUrl: `${url}/`, apiKey: KEY })
    const { value, replayed } = await client.createBatch(
      { items: [{ name: 'a' }, { name: 'b' }] },
      { idempotencyKey: 'k-1' },
    )
    expect(replayed).toBe(true)
    expect(value.imports[0]?.id).toBe('imp_1')
    expect(value.errors[0]?.errors[0]?.ims_code).toBe('IMG.0055')
    expect(seen[0]?.method).toBe('POST')
    expect(seen[0]?.url).toBe('/v1/batches')
    expect(seen[0]?.headers.authorization).toBe(`Bearer ${KEY}`)
    expect(seen[0]?.headers['idempotency-key']).toBe('k-1')
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ items: [{ name: 'a' }, { name: 'b' }] })
  })

  it('puts list filters in the query string and escapes ids in paths', async () => {
    const { url, seen } = await serve((_req, res) => json(res, 200, { items: [], next_cursor: null }))
    const client = createApiClient({ baseUrl: url, apiKey: KEY })
    await client.listImports({ status: 'failed', batch_id: 'bat_9', limit: 5 })
    await client.getImport('imp_../x').catch(() => {})
    expect(seen[0]?.url).toBe('/v1/imports?status=failed&batch_id=bat_9&limit=5')
    expect(seen[1]?.url).toBe('/v1/imports/imp_..%2Fx')
  })

  it('asks a batch for one status and reads the expected finishes of the batch and its items', async () => {
    const finish = {
      at: '2025-01-01T01:00:00.000Z',
      p10_at: '2025-01-01T00:50:00.000Z',
      p90_at: '2025-01-01T01:10:00.000Z',
      basis: 'progress',
      estimated_at: '2025-01-01T00:30:00.000Z',
    }
    const view = {
      id: 'bat_1',
      external_id: null,
      created_at: '2025-01-01T00:00:00.000Z',
      accepted: 2,
      rejected: [],
      counts: { running: 1, queued: 1 },
      expected_finish: { at: '2025-01-01T02:00:00.000Z', complete: false },
      items: [
        {
          index: 0,
          id: 'imp_1',
          status: 'running',
          target: 't1',
          external_id: null,
          image_id: null,
          error: null,
          expected_finish: finish,
        },
      ],
      next_cursor: null,
    }
    const { url, seen } = await serve((_req, res) => json(res, 200, view))
    const client = createApiClient({ baseUrl: url, apiKey: KEY })
    const got = await client.getBatch('bat_1', { status: 'running', limit: 50 })
    expect(seen[0]?.url).toBe('/v1/batches/bat_1?status=running&limit=50')
    expect(got.expected_finish).toEqual({ at: '2025-01-01T02:00:00.000Z', complete: false })
    expect(got.items[0]?.expected_finish).toEqual(finish)
  })

  it('turns a problem answer into an ApiError with field paths, and never shows the key', async () => {
    const { url } = await serve((_req, res) =>
      json(
        res,
        400,
        problem(400, 'Invalid request', {
          detail: `bad key ${KEY}`,
          errors: [{ path: 'min_disk', message: 'must be ≤ 1024', ims_code: 'IMG.0055' }],
        }),
      ),
    )
    const client = createApiClient({ baseUrl: url, apiKey: KEY, ...noSleep })
    const err = await client.createImport({ name: 'x' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    const apiErr = err as ApiError
    expect(apiErr.status).toBe(400)
    expect(apiErr.message).toContain('Invalid request (400)')
    expect(apiErr.message).toContain('min_disk: must be ≤ 1024 [IMG.0055]')
    const everything = `${apiErr.message} ${apiErr.stack} ${JSON.stringify(apiErr)} ${JSON.stringify(apiErr.problem)}`
    expect(everything).not.toContain(KEY)
  })

  it('waits Retry-After on 429 and sends the same idempotency key again', async () => {
    const { url, seen } = await serve((_req, res, n) =>
      n === 1
        ? json(res, 429, problem(429, 'Too many requests'), { 'retry-after': '3' })
        : json(res, 202, batch),
    )
    const waits: number[] = []
    const client = createApiClient({ baseUrl: url, apiKey: KEY, sleep: async (ms) => void waits.push(ms) })
    const { value } = await client.createBatch({ items: [{}] }, { idempotencyKey: 'same' })
    expect(value.id).toBe('bat_1')
    expect(waits).toEqual([3000])
    expect(seen.map((s) => s.headers['idempotency-key'])).toEqual(['same', 'same'])
  })

  it('retries 503 and in-progress 409 with backoff when the request is keyed, not when it is not', async () => {
    const { url, seen } = await serve((_req, res, n) =>
      n <= 2 ? json(res, n === 1 ? 503 : 409, problem(n === 1 ? 503 : 409, 'busy')) : json(res, 202, batch),
    )
    const waits: number[] = []
    const client = createApiClient({
      baseUrl: url,
      apiKey: KEY,
      retry: { baseDelayMs: 100 },
      sleep: async (ms) => void waits.push(ms),
    })
    await client.createBatch({ items: [{}] }, { idempotencyKey: 'k' })
    expect(seen).toHaveLength(3)
    expect(waits[0]).toBeGreaterThanOrEqual(50)
    expect(waits[0]).toBeLessThanOrEqual(100)
    expect(waits[1]).toBeGreaterThanOrEqual(100)
    expect(waits[1]).toBeLessThanOrEqual(200)

    const before = seen.length
    server?.removeAllListeners('request')
    server?.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      seen.push({ method: 'POST', url: '', headers: {}, body: '' })
      json(res, 503, problem(503, 'down'))
    })
    const err = await client.createImport({ name: 'x' }).catch((e: unknown) => e)
    expect((err as ApiError).status).toBe(503)
    expect(seen.length - before).toBe(1)
  })

  it('gives up after the configured retries with the last error', async () => {
    const { url, seen } = await serve((_req, res) => json(res, 502, problem(502, 'Bad gateway')))
    const client = createApiClient({ baseUrl: url, apiKey: KEY, retry: { retries: 2 }, ...noSleep })
    const err = await client.getImport('imp_1').catch((e: unknown) => e)
    expect((err as ApiError).status).toBe(502)
    expect(seen).toHaveLength(3)
  })

  it('does not retry a 4xx that will not change', async () => {
    const { url, seen } = await serve((_req, res) =>
      json(res, 422, problem(422, 'Idempotency-Key reused with a different body')),
    )
    const client = createApiClient({ baseUrl: url, apiKey: KEY, ...noSleep })
    const err = await client.createBatch({ items: [{}] }, { idempotencyKey: 'k' }).catch((e: unknown) => e)
    expect((err as ApiError).status).toBe(422)
    expect(seen).toHaveLength(1)
  })

  it('names a non-JSON error answer by its status text', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' })
      res.end('<html>proxy</html>')
    })
    const client = createApiClient({ baseUrl: url, apiKey: KEY, retry: { retries: 0 } })
    const err = await client.getImport('imp_1').catch((e: unknown) => e)
    expect((err as ApiError).message).toBe('Bad Gateway (502)')
  })

  it('reports an unreachable API as a network error without the key', async () => {
    const { url } = await serve(() => {})
    server?.close()
    server = undefined
    const client = createApiClient({ baseUrl: url, apiKey: KEY, retry: { retries: 1 }, ...noSleep })
    const err = await client.listImports().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiNetworkError)
    expect((err as ApiNetworkError).code).toBe('ECONNREFUSED')
    expect((err as Error).message).toContain('cannot reach the API at')
    expect(`${(err as Error).message}${(err as Error).stack}`).not.toContain(KEY)
  })

  it('parses Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('2')).toBe(2000)
    expect(parseRetryAfter('0.5')).toBe(500)
    const now = Date.parse('2025-01-01T00:00:00Z')
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now)).toBe(10_000)
    expect(parseRetryAfter('soon')).toBeNull()
    expect(parseRetryAfter(undefined)).toBeNull()
  })
})
