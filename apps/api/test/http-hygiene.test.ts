import { connect } from 'node:net'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { parseApiKeys } from '../src/auth.js'
import { loadApiConfig } from '../src/config.js'
import { PAGE_EXAMPLE, startTestApi, type TestApi } from './helpers.js'

/*
 * HTTP hygiene (issue 16, item 5), each a finding of the hostile-tenant review: a slow body was
 * still open after 150 s; an admin key and a tenant key of the same name shared one rate-limit
 * counter; 1,000 wrong keys in a row got 401 without slowing down.
 */
const redisUrl = inject('redisUrl')
const started: TestApi[] = []
afterAll(async () => {
  await Promise.all(started.map((a) => a.close()))
})
const start = async (...args: Parameters<typeof startTestApi> extends [string, ...infer R] ? R : never) => {
  const api = await startTestApi(redisUrl, ...args)
  started.push(api)
  return api
}

describe('timeouts', () => {
  it('has request, headers, connection and keep-alive timeouts by default, from env', () => {
    const c = loadApiConfig({ REDIS_URL: redisUrl })
    expect(c.http).toEqual({
      requestTimeoutMs: 60_000,
      headersTimeoutMs: 10_000,
      connectionTimeoutMs: 120_000,
      keepAliveTimeoutMs: 72_000,
    })
    const set = loadApiConfig({
      REDIS_URL: redisUrl,
      REQUEST_TIMEOUT_MS: '5000',
      HEADERS_TIMEOUT_MS: '9000',
      CONNECTION_TIMEOUT_MS: '7000',
      KEEP_ALIVE_TIMEOUT_MS: '3000',
    })
    // Headers cannot take longer than the whole request.
    expect(set.http).toEqual({
      requestTimeoutMs: 5000,
      headersTimeoutMs: 5000,
      connectionTimeoutMs: 7000,
      keepAliveTimeoutMs: 3000,
    })
  })

  it('closes an authenticated request whose body trickles in, within the request timeout', async () => {
    const REQUEST_TIMEOUT_MS = 1500
    const api = await start({
      http: {
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        headersTimeoutMs: 1000,
        connectionTimeoutMs: 60_000,
        keepAliveTimeoutMs: 5000,
      },
    })
    await api.app.listen({ port: 0, host: '127.0.0.1' })
    const address = api.app.server.address()
    const port = typeof address === 'object' && address ? address.port : 0
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    socket.on('data', (d) => {
      answer += d.toString('utf8')
    })
    socket.on('error', () => {})
    const t0 = Date.now()
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - t0)))
    socket.write(
      `POST /v1/imports HTTP/1.1\r\nHost: x\r\nAuthorization: ${api.auth(api.tenants[0]).authorization}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{',
    )
    // One byte every 100 ms: never idle, never done.
    const drip = setInterval(() => {
      if (!socket.destroyed) socket.write(' ')
    }, 100)
    const ms = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 10_000))])
    clearInterval(drip)
    socket.destroy()
    expect(ms).toBeGreaterThan(0)
    // Node checks for late requests every second at most (connectionsCheckingInterval).
    expect(ms).toBeLessThan(REQUEST_TIMEOUT_MS + 1500)
    expect(answer).toMatch(/^HTTP\/1\.1 408/)
  })
})

describe('rate limit per key', () => {
  it('an admin key and a tenant key of the same name have a counter each', async () => {
    const name = 'samename'
    const api = await start({
      apiKeys: parseApiKeys(`${name}:tenant-key-of-samename`, 'API_KEYS'),
      adminKeys: parseApiKeys(`${name}:admin-key-of-samename`, 'ADMIN_API_KEYS'),
      metricsAuth: true,
      rateLimitPerMinute: 2,
    })
    const admin = { authorization: 'Bearer admin-key-of-samename' }
    const tenant = { authorization: 'Bearer tenant-key-of-samename' }
    for (let i = 0; i < 2; i++)
      expect((await api.app.inject({ method: 'GET', url: '/metrics', headers: admin })).statusCode).toBe(200)
    expect((await api.app.inject({ method: 'GET', url: '/metrics', headers: admin })).statusCode).toBe(429)
    // The tenant's counter is its own: untouched by the admin's two requests.
    for (let i = 0; i < 2; i++)
      expect((await api.app.inject({ method: 'GET', url: '/v1/imports', headers: tenant })).statusCode).toBe(
        200,
      )
    expect((await api.app.inject({ method: 'GET', url: '/v1/imports', headers: tenant })).statusCode).toBe(
      429,
    )
  })
})

describe('failed-auth throttling per client address', () => {
  it('answers 429 after 20 wrong keys from one address, counted in Redis, and spares other addresses', async () => {
    const api = await start({ authThrottle: { maxFailures: 20, windowMs: 60_000 } })
    const from = (remoteAddress: string, authorization: string) =>
      api.app.inject({ method: 'GET', url: '/v1/imports', remoteAddress, headers: { authorization } })
    const attacker = `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`
    const codes: number[] = []
    for (let i = 0; i < 25; i++) codes.push((await from(attacker, `Bearer wrong-${i}`)).statusCode)
    expect(codes.slice(0, 20)).toEqual(Array(20).fill(401))
    expect(codes.slice(20)).toEqual(Array(5).fill(429))
    const limited = await from(attacker, 'Bearer wrong-x')
    expect(limited.headers['content-type']).toContain('application/problem+json')
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    // A right key from the throttled address is refused too: a hit must not stand out.
    const right = api.auth(api.tenants[0]).authorization
    expect((await from(attacker, right)).statusCode).toBe(429)
    // Another address is not affected.
    expect((await from('10.200.0.1', right)).statusCode).toBe(200)
    // Counted in Redis: a second API process (another replica) throttles the address at once.
    const replica = await start({
      keyPrefix: api.deps.config.keyPrefix,
      authThrottle: { maxFailures: 20, windowMs: 60_000 },
    })
    const res = await replica.app.inject({
      method: 'GET',
      url: '/v1/imports',
      remoteAddress: attacker,
      headers: { authorization: 'Bearer wrong-again' },
    })
    expect(res.statusCode).toBe(429)
  })
})

describe('intake still answers', () => {
  it('a good POST is accepted with the new hooks in place', async () => {
    const api = await start()
    const res = await api.post('/v1/imports', api.tenants[0], PAGE_EXAMPLE)
    expect(res.statusCode).toBe(202)
  })
})
