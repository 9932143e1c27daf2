import { createServer } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createImsClient, type ImsClientOptions, signRequest } from '../src/index.js'
import { caught } from './caught.js'
import { json, type StubServer, startStubServer } from './stub-server.js'

const PASSWORD = 'pw-Very-Secret-123'
const SK = 'sk-Very-Secret-456'
const TOKEN = 'tok-Very-Secret-789'
const SECURITY_TOKEN = 'sts-Very-Secret-000'

let stub: StubServer
const clients: Array<{ close(): Promise<void> }> = []

beforeAll(async () => {
  stub = await startStubServer()
})
afterAll(() => stub.close())
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  stub.requests.length = 0
})

function client(overrides: Partial<ImsClientOptions> = {}) {
  const c = createImsClient({
    imsEndpoint: stub.url,
    iamEndpoint: `${stub.url}/v3`,
    projectId: 'proj-1',
    auth: { type: 'token', username: 'user', password: PASSWORD, domainName: 'dom' },
    ...overrides,
  })
  clients.push(c)
  return c
}

const aksk = { type: 'aksk', ak: 'AK123', sk: SK, securityToken: SECURITY_TOKEN } as const

function iamAnswer(
  res: Parameters<Parameters<StubServer['handle']>[0]>[1],
  token = TOKEN,
  ttlMs = 86_400_000,
) {
  const issued = new Date()
  json(
    res,
    201,
    {
      token: {
        issued_at: issued.toISOString(),
        expires_at: new Date(issued.getTime() + ttlMs).toISOString(),
      },
    },
    { 'x-subject-token': token },
  )
}

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('token auth', () => {
  it('gets one project-scoped token for many concurrent calls and sends it as X-Auth-Token', async () => {
    stub.handle((req, res) => {
      if (req.url.startsWith('/v3/auth/tokens')) setTimeout(() => iamAnswer(res), 50)
      else json(res, 200, { job_id: 'j1', status: 'RUNNING', entities: {} })
    })
    const c = client()
    const jobs = await Promise.all(Array.from({ length: 10 }, () => c.getJob('j1')))
    expect(jobs.every((j) => j.status === 'RUNNING')).toBe(true)
    const authCalls = stub.requests.filter((r) => r.url.startsWith('/v3/'))
    expect(authCalls).toHaveLength(1)
    expect(authCalls[0]?.url).toBe('/v3/auth/tokens?nocatalog=true')
    expect(JSON.parse(authCalls[0]?.body ?? '')).toEqual({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: 'user', password: PASSWORD, domain: { name: 'dom' } } },
        },
        scope: { project: { id: 'proj-1' } },
      },
    })
    const imsCalls = stub.requests.filter((r) => r.url.startsWith('/v1/'))
    expect(imsCalls).toHaveLength(10)
    expect(imsCalls.every((r) => r.headers['x-auth-token'] === TOKEN && r.url === '/v1/proj-1/jobs/j1')).toBe(
      true,
    )
  })

  it('accepts the IAM endpoint without /v3', async () => {
    stub.handle((req, res) => {
      if (req.url.startsWith('/v3/auth/tokens')) iamAnswer(res)
      else json(res, 200, { images: [] })
    })
    await client({ iamEndpoint: `${stub.url}/` }).listImages({})
    expect(stub.requests[0]?.url).toBe('/v3/auth/tokens?nocatalog=true')
  })

  it('refreshes once and retries once when IMS says the token must be updated', async () => {
    let issued = 0
    stub.handle((req, res) => {
      if (req.url.startsWith('/v3/')) return iamAnswer(res, `${TOKEN}-${++issued}`)
      if (req.headers['x-auth-token'] === `${TOKEN}-1`) {
        return json(res, 401, { error_code: 'APIG.0307', error_msg: 'The token must be updated.' })
      }
      json(res, 200, { job_id: 'job-new' })
    })
    const c = client()
    await expect(c.quickImport({ name: 'x' })).resolves.toEqual({ jobId: 'job-new' })
    expect(issued).toBe(2)
    expect(stub.requests.filter((r) => r.method === 'POST' && r.url.startsWith('/v2/'))).toHaveLength(2)
  })

  it('gives up after one retry: a second 401 is an auth error', async () => {
    stub.handle((req, res) => {
      if (req.url.startsWith('/v3/')) return iamAnswer(res)
      json(res, 401, { error_code: 'APIG.0307', error_msg: 'The token must be updated.' })
    })
    const err = await caught(client().getJob('j'))
    expect(err).toMatchObject({ kind: 'auth', status: 401, code: 'APIG.0307', operation: 'getJob' })
    expect(stub.requests.filter((r) => r.url.startsWith('/v1/'))).toHaveLength(2)
    expect(stub.requests.filter((r) => r.url.startsWith('/v3/'))).toHaveLength(2)
  })

  it('refreshes ahead of expiry: a token past its refresh margin is replaced before use', async () => {
    let issued = 0
    stub.handle((req, res) => {
      if (req.url.startsWith('/v3/')) return iamAnswer(res, `${TOKEN}-${++issued}`, 400)
      json(res, 200, { images: [] })
    })
    const c = client({ tokenRefreshMarginMs: 100 })
    await c.listImages({})
    await new Promise((r) => setTimeout(r, 350))
    await c.listImages({})
    expect(issued).toBe(2)
    const used = stub.requests.filter((r) => r.url.startsWith('/v2/')).map((r) => r.headers['x-auth-token'])
    expect(used).toEqual([`${TOKEN}-1`, `${TOKEN}-2`])
  })

  it('reports a wrong password as an auth error of the auth operation, without the password', async () => {
    stub.handle((req, res) => {
      // A careless server echoing the request body into its message.
      json(res, 401, {
        error: { code: 401, message: `bad credentials in ${req.body}`, title: 'Unauthorized' },
      })
    })
    const err = await caught(client().quickImport({ name: 'x' }))
    expect(err).toMatchObject({ kind: 'auth', operation: 'auth', status: 401, code: '401' })
    expect(err.message).toContain('bad credentials')
    expect(err.message).not.toContain(PASSWORD)
    expect(err.stack ?? '').not.toContain(PASSWORD)
  })

  it('never puts the token in a message, even when the server echoes it', async () => {
    stub.handle((req, res) => {
      if (req.url.startsWith('/v3/')) return iamAnswer(res)
      json(res, 400, { error: { code: 'IMG.0001', message: `header was ${req.headers['x-auth-token']}` } })
    })
    const err = await caught(client().quickImport({}))
    expect(err).toMatchObject({ kind: 'permanent', code: 'IMG.0001' })
    expect(err.message).toContain('[redacted]')
    expect(err.message).not.toContain(TOKEN)
  })
})

describe('AK/SK auth', () => {
  it('signs host, content-type and x-sdk-date with exactly the values sent, plus project and security token', async () => {
    stub.handle((_req, res) => json(res, 200, { job_id: 'j-1' }))
    const body = { name: 'img', image_url: 'bucket:disk.zvhd2' }
    await client({ auth: aksk }).quickImport(body)
    const req = stub.requests[0]
    if (req === undefined) throw new Error('no request received')
    expect(req.body).toBe(JSON.stringify(body))
    expect(req.headers['x-project-id']).toBe('proj-1')
    expect(req.headers['x-security-token']).toBe(SECURITY_TOKEN)
    const authorization = String(req.headers.authorization)
    const signedNames = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? []
    expect(signedNames).toEqual(expect.arrayContaining(['content-type', 'host', 'x-sdk-date']))
    // Rebuild the signature from what arrived: equal only if every signed value was sent unchanged.
    const received = Object.fromEntries(signedNames.map((n) => [n, String(req.headers[n])]))
    const again = signRequest(
      { method: req.method, url: `${stub.url}${req.url}`, headers: received, body: req.body },
      { ak: 'AK123', sk: SK },
      new Date(0),
    )
    expect(again.Authorization).toBe(authorization)
    expect(stub.requests.some((r) => r.url.startsWith('/v3/'))).toBe(false)
  })

  it('keeps the signature and SK out of messages when a proxy echoes the Authorization header', async () => {
    stub.handle((req, res) =>
      json(res, 403, { error_code: 'APIG.0302', error_msg: `denied: ${req.headers.authorization}` }),
    )
    const err = await caught(client({ auth: aksk }).listImages({}))
    expect(err).toMatchObject({ kind: 'auth', code: 'APIG.0302', status: 403 })
    expect(err.message).toContain('Access=AK123')
    expect(err.message).not.toMatch(/Signature=[0-9a-f]{8}/)
    expect(err.message).not.toContain(SK)
  })

  it('encodes list filters per RFC 3986 and signs that query', async () => {
    stub.handle((_req, res) =>
      json(res, 200, { images: [{ id: 'i1', name: 'n', status: 'active', tags: ['a.b'] }] }),
    )
    const { images } = await client({ auth: aksk }).listImages({
      tag: 'ims_importer_id=abc',
      limit: 5,
      name: 'a b',
    })
    expect(stub.requests[0]?.url).toBe('/v2/cloudimages?name=a%20b&tag=ims_importer_id%3Dabc&limit=5')
    expect(images).toEqual([{ id: 'i1', name: 'n', status: 'active', tags: ['a.b'], created_at: null }])
  })
})

describe('errors', () => {
  it('reads code, request id and Retry-After from a throttled answer and reports the exchange', async () => {
    const seen: unknown[] = []
    stub.handle((_req, res) =>
      json(
        res,
        429,
        { error_code: 'APIG.0308', error_msg: 'over ratelimit' },
        { 'x-request-id': 'rq-9', 'retry-after': '2' },
      ),
    )
    const err = await caught(client({ auth: aksk, onResponse: (i) => seen.push(i) }).getJob('j'))
    expect(err).toMatchObject({
      kind: 'throttled',
      status: 429,
      code: 'APIG.0308',
      requestId: 'rq-9',
      retryAfterMs: 2000,
    })
    expect(err.message).toContain('over ratelimit')
    expect(seen).toEqual([
      { operation: 'getJob', status: 429, code: 'APIG.0308', durationMs: expect.any(Number) },
    ])
  })

  it('classifies an IMS flow-control answer as throttled and a bad body as permanent', async () => {
    stub.handle((req, res) =>
      req.url.includes('quickimport')
        ? json(res, 400, { error: { code: 'IMG.0060', message: 'flow control' } })
        : json(res, 400, { error: { code: 'IMG.0001', message: 'format' } }),
    )
    const c = client({ auth: aksk })
    expect(await caught(c.quickImport({}))).toMatchObject({ kind: 'throttled', code: 'IMG.0060' })
    expect(await caught(c.getJob('j'))).toMatchObject({ kind: 'permanent', code: 'IMG.0001' })
  })

  it('makes a gateway timeout on the submit uncertain, but transient on a GET', async () => {
    stub.handle((_req, res) => json(res, 504, { error_code: 'APIG.0201', error_msg: 'backend timeout' }))
    const c = client({ auth: aksk })
    expect(await caught(c.quickImport({}))).toMatchObject({ kind: 'uncertain', status: 504 })
    expect(await caught(c.getJob('j'))).toMatchObject({ kind: 'transient', status: 504 })
  })

  it('makes a non-JSON 200 uncertain for the submit and transient for a GET, saying what was wrong', async () => {
    stub.handle((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"job_id":"ab'),
    )
    const c = client({ auth: aksk })
    const submit = await caught(c.quickImport({}))
    expect(submit).toMatchObject({ kind: 'uncertain', status: 200 })
    expect(submit.message).toContain('not JSON')
    expect(await caught(c.getJob('j'))).toMatchObject({ kind: 'transient', status: 200 })
  })

  it('names the unexpected field when a 200 has the wrong shape', async () => {
    stub.handle((_req, res) => json(res, 200, { job_id: 'j', status: 'PAUSED' }))
    const err = await caught(client({ auth: aksk }).getJob('j'))
    expect(err.kind).toBe('transient')
    expect(err.message).toMatch(/unexpected answer shape.*status/)
  })

  it('reads a non-JSON error body', async () => {
    stub.handle((_req, res) =>
      res.writeHead(502, { 'x-request-id': 'rq-html' }).end('<html>Bad Gateway</html>'),
    )
    const err = await caught(client({ auth: aksk }).listImages({}))
    expect(err).toMatchObject({ kind: 'transient', status: 502, code: null, requestId: 'rq-html' })
    expect(err.message).toContain('Bad Gateway')
  })

  it('retries a GET once when the connection drops before an answer, but never the submit', async () => {
    let drops = 1
    stub.handle((req, res) => {
      if (req.method === 'POST' || drops-- > 0) return res.socket?.destroy()
      json(res, 200, { images: [] })
    })
    const c = client({ auth: aksk })
    await expect(c.listImages({})).resolves.toEqual({ images: [] })
    expect(stub.requests).toHaveLength(2)
    const err = await caught(c.quickImport({}))
    expect(err).toMatchObject({ kind: 'uncertain', status: null })
    expect(stub.requests.filter((r) => r.method === 'POST')).toHaveLength(1)
  })

  it('treats a refused connection as transient even for the submit', async () => {
    const c = client({ auth: aksk, imsEndpoint: `http://127.0.0.1:${await closedPort()}` })
    const err = await caught(c.quickImport({}))
    expect(err).toMatchObject({ kind: 'transient', status: null, operation: 'quickImport' })
  })

  it('times out a hung answer: uncertain for the submit, transient for a GET', async () => {
    stub.handle(() => {}) // never answers
    const c = client({ auth: aksk, timeouts: { requestMs: 200 } })
    const submit = await caught(c.quickImport({}))
    expect(submit).toMatchObject({ kind: 'uncertain', status: null })
    expect(submit.message).toContain('200 ms')
    expect(await caught(c.getJob('j'))).toMatchObject({ kind: 'transient', status: null })
  })

  it("honours the caller's AbortSignal", async () => {
    stub.handle(() => {})
    const c = client({ auth: aksk })
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 50)
    const err = await caught(c.quickImport({}, { signal: controller.signal }))
    expect(err.kind).toBe('uncertain')
    expect(err.message).toContain('aborted by the caller')
    const early = await caught(c.getJob('j', { signal: AbortSignal.abort() }))
    expect(early.kind).toBe('transient')
  })
})

describe('job answers', () => {
  it('takes image id and progress from the entities, or from sub-jobs', async () => {
    stub.handle((req, res) =>
      req.url.endsWith('/a')
        ? json(res, 200, {
            job_id: 'a',
            status: 'RUNNING',
            entities: { image_id: 'img-a', process_percent: 42.5 },
          })
        : json(res, 200, {
            job_id: 'b',
            job_type: 'imsImportImageJob',
            status: 'SUCCESS',
            begin_time: '2024-11-06T06:21:08.769Z',
            end_time: '2024-11-06T06:27:03.742Z',
            error_code: null,
            fail_reason: null,
            entities: { sub_jobs_result: [{ status: 'SUCCESS', entities: { image_id: 'img-b' } }] },
          }),
    )
    const c = client({ auth: aksk })
    expect(await c.getJob('a')).toMatchObject({
      image_id: 'img-a',
      progress: 42.5,
      job_type: null,
      end_time: null,
    })
    expect(await c.getJob('b')).toMatchObject({
      job_id: 'b',
      status: 'SUCCESS',
      image_id: 'img-b',
      progress: null,
      end_time: '2024-11-06T06:27:03.742Z',
    })
  })
})
