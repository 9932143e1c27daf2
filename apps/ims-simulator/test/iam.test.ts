import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningSimulator, startSimulator } from '../src/index.js'
import { getToken, passwordAuthBody, sleep, USER } from './helpers.js'

const tokenRequest = (url: string, body: unknown) =>
  fetch(`${url}/v3/auth/tokens?nocatalog=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json;charset=utf8' },
    body: JSON.stringify(body),
  })

describe('IAM tokens', () => {
  let sim: RunningSimulator
  beforeAll(async () => {
    sim = await startSimulator({ tokenTtlMs: 300, projectName: 'eu-de' })
  })
  afterAll(() => sim.close())

  it('issues a project-scoped token in X-Subject-Token with the documented body', async () => {
    const before = Date.now()
    const res = await tokenRequest(sim.url, passwordAuthBody())
    expect(res.status).toBe(201)
    expect(res.headers.get('x-subject-token')).toMatch(/^MII/)
    const { token } = (await res.json()) as { token: Record<string, unknown> }
    expect(token.project).toMatchObject({ id: 'sim-project', name: 'eu-de' })
    expect(token.user).toMatchObject({ name: USER.name })
    expect(token.catalog).toEqual([])
    expect(Array.isArray(token.roles)).toBe(true)
    const expires = Date.parse(String(token.expires_at))
    expect(expires).toBeGreaterThanOrEqual(before + 300)
    expect(Date.parse(String(token.issued_at))).toBeLessThanOrEqual(expires)
  })

  it('accepts the project by name, without ?nocatalog', async () => {
    const res = await fetch(`${sim.url}/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(passwordAuthBody(USER, { name: 'eu-de' })),
    })
    expect(res.status).toBe(201)
  })

  it('answers 401 with a gateway-style body for a wrong password, user, domain or project', async () => {
    for (const body of [
      passwordAuthBody({ ...USER, password: 'bad-pw-4711' }),
      passwordAuthBody({ ...USER, name: 'nobody' }),
      passwordAuthBody({ ...USER, domain: 'other-domain' }),
      passwordAuthBody(USER, { id: 'other-project' }),
    ]) {
      const res = await tokenRequest(sim.url, body)
      expect(res.status).toBe(401)
      expect(res.headers.get('x-subject-token')).toBeNull()
      const json = (await res.json()) as Record<string, string>
      expect(json.error_code).toBe('APIG.0301')
      expect(json.request_id).toBe(res.headers.get('x-request-id'))
      expect(JSON.stringify(json)).not.toContain('bad-pw-4711')
    }
  })

  it('answers 400 to a body that is not a password auth', async () => {
    expect((await tokenRequest(sim.url, { auth: {} })).status).toBe(400)
  })

  it('accepts a fresh token, refuses an unknown one with APIG.0301 and an expired one with APIG.0307', async () => {
    const token = await getToken(sim.url)
    const list = (t: string) => fetch(`${sim.url}/v2/cloudimages`, { headers: { 'x-auth-token': t } })
    expect((await list(token)).status).toBe(200)
    const unknown = await list('MIIunknown')
    expect(unknown.status).toBe(401)
    expect(((await unknown.json()) as Record<string, string>).error_code).toBe('APIG.0301')
    await sleep(350)
    const expired = await list(token)
    expect(expired.status).toBe(401)
    const body = (await expired.json()) as Record<string, string>
    expect(body.error_code).toBe('APIG.0307')
    expect(body.error_msg).toContain('The token must be updated')
    // A new token works again: getting one does not depend on the old one.
    expect((await list(await getToken(sim.url))).status).toBe(200)
  })

  it('refuses a token used on another project path with APIG.0301', async () => {
    const token = await getToken(sim.url)
    const res = await fetch(`${sim.url}/v1/other-project/jobs/0123456789abcdef0123456789abcdef`, {
      headers: { 'x-auth-token': token },
    })
    expect(res.status).toBe(401)
    expect(((await res.json()) as Record<string, string>).error_code).toBe('APIG.0301')
  })

  it('refuses IMS calls without credentials', async () => {
    const res = await fetch(`${sim.url}/v2/cloudimages`)
    expect(res.status).toBe(401)
  })
})

describe("IAM catalog, iamCatalog: 'faithful'", () => {
  let sim: RunningSimulator
  beforeAll(async () => {
    sim = await startSimulator({ iamCatalog: 'faithful' })
  })
  afterAll(() => sim.close())

  it('leaves the catalog out with ?nocatalog=true, as IAM does', async () => {
    const res = await tokenRequest(sim.url, passwordAuthBody())
    expect(res.status).toBe(201)
    const { token } = (await res.json()) as { token: Record<string, unknown> }
    expect(token).not.toHaveProperty('catalog')
    expect(token.project).toMatchObject({ id: 'sim-project' })
  })

  it('lists its IMS and IAM endpoints without it', async () => {
    const res = await fetch(`${sim.url}/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(passwordAuthBody()),
    })
    const { token } = (await res.json()) as {
      token: { catalog: Array<{ type: string; endpoints: Array<{ url: string; region: string }> }> }
    }
    expect(token.catalog.map((s) => s.type)).toEqual(['image', 'identity'])
    expect(token.catalog[0]?.endpoints[0]).toMatchObject({ url: sim.url, region: 'eu-de' })
    expect(token.catalog[1]?.endpoints[0]?.url).toBe(`${sim.url}/v3`)
  })
})
