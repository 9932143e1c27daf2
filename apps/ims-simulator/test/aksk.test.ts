import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  canonicalQuery,
  canonicalRequest,
  checkSignature,
  expectedSignature,
  parseAuthorization,
  rfc3986,
} from '../src/aksk-verifier.js'
import { type RunningSimulator, startSimulator } from '../src/index.js'
import { AKSK, must, sign, VALID_SYSTEM_BODY } from './helpers.js'

const breakSignature = (headers: Record<string, string>) => {
  headers.Authorization = `${must(headers.Authorization).slice(0, -4)}0000`
}

describe('AK/SK verifier against the published vectors (ims-api.md §4b)', () => {
  const vectorHeaders = {
    'X-Sdk-Date': '20060102T150405Z',
    TEST_UNDERSCORE: 'TEST_VALUE',
    host: 'example.huaweicloud.com',
  }

  it('rebuilds the canonical request of the GET vector', () => {
    const canonical = canonicalRequest({ method: 'GET', url: '/path?limit=1', headers: vectorHeaders }, [
      'x-sdk-date',
    ])
    expect(canonical).toBe(
      'GET\n/path/\nlimit=1\nx-sdk-date:20060102T150405Z\n\nx-sdk-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    )
  })

  it('accepts the GET vector signature', () => {
    const req = { method: 'GET', url: '/path?limit=1', headers: vectorHeaders }
    expect(expectedSignature(req, ['x-sdk-date'], 'SecretKey')).toBe(
      '5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624',
    )
    const auth = parseAuthorization(
      'SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624',
    )
    expect(auth).toEqual({
      access: 'AccessKey',
      signedHeaders: ['x-sdk-date'],
      signature: expect.any(String),
    })
    expect(checkSignature(req, must(auth), 'SecretKey')).toBe('ok')
    expect(checkSignature(req, must(auth), 'OtherKey')).toBe('mismatch')
  })

  it('accepts the POST vector only with the trailing newline in the body', () => {
    const auth = {
      access: 'AccessKey',
      signedHeaders: ['x-sdk-date'],
      signature: 'cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59',
    }
    const req = {
      method: 'POST',
      url: '/path?key=value',
      headers: vectorHeaders,
      body: '{"Name":"test","Id":1}\n',
    }
    expect(checkSignature(req, auth, 'SecretKey')).toBe('ok')
    expect(checkSignature({ ...req, body: '{"Name":"test","Id":1}' }, auth, 'SecretKey')).toBe('mismatch')
  })

  it('encodes queries with RFC 3986 and sorts them', () => {
    expect(rfc3986('一 (&=?!#%.*)')).toBe('%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29')
    expect(canonicalQuery('b=2&a=%2Ftmp%2F123&a=1')).toBe('a=%2Ftmp%2F123&a=1&b=2')
    expect(canonicalQuery('tag=ims_importer_id%3Dx&limit=5')).toBe('limit=5&tag=ims_importer_id%3Dx')
  })

  it('sorts the query by the raw names and values, then encodes (the official SDK signers)', () => {
    // "z" < "é" raw (0x7A < 0xC3); the encoded "%C3%A9" would sort first.
    expect(canonicalQuery('%C3%A9=2&z=1')).toBe('z=1&%C3%A9=2')
    expect(canonicalQuery('k=%7B&k=z&k=%3A&k=5')).toBe('k=5&k=%3A&k=z&k=%7B')
    const req = { method: 'GET', url: '/path?%C3%A9=2&z=1', headers: vectorHeaders }
    expect(expectedSignature(req, ['x-sdk-date'], 'SecretKey')).toBe(
      'ee2a7184ebf135ed35c4d611f587b1cb13b449ae93c23ae2ac30b05250647835',
    )
  })

  it('rejects a signature that does not declare x-sdk-date', () => {
    const req = { method: 'GET', url: '/path', headers: vectorHeaders }
    const auth = {
      access: 'AccessKey',
      signedHeaders: ['host'],
      signature: expectedSignature(req, ['host'], 'SecretKey'),
    }
    expect(checkSignature(req, auth, 'SecretKey')).toBe('malformed')
  })
})

describe('AK/SK at the gateway', () => {
  let sim: RunningSimulator
  beforeAll(async () => {
    sim = await startSimulator({ initMs: 10, jobDurationMs: { min: 10, max: 10 } })
  })
  afterAll(() => sim.close())
  beforeEach(() => sim.control.reset())

  const post = async (opts: {
    body?: string
    date?: Date
    creds?: typeof AKSK
    tamper?: (h: Record<string, string>) => void
  }) => {
    const url = `${sim.url}/v2/cloudimages/quickimport/action`
    const body = opts.body ?? JSON.stringify(VALID_SYSTEM_BODY)
    const headers = sign(
      {
        method: 'POST',
        url,
        headers: { 'Content-Type': 'application/json', 'X-Project-Id': 'sim-project' },
        body,
      },
      opts.creds ?? AKSK,
      opts.date ?? new Date(),
    )
    opts.tamper?.(headers)
    delete headers.host
    const res = await fetch(url, { method: 'POST', headers, body })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }

  it('accepts a correctly signed POST', async () => {
    const res = await post({})
    expect(res.status).toBe(200)
    expect(res.body.job_id).toMatch(/^[0-9a-f]{32}$/)
  })

  it('accepts a signed GET with a query string', async () => {
    const url = `${sim.url}/v2/cloudimages?tag=ims_importer_id%3Dx&limit=5&__imagetype=private`
    const headers = sign({ method: 'GET', url, headers: { 'X-Project-Id': 'sim-project' } }, AKSK, new Date())
    delete headers.host
    const res = await fetch(url, { headers })
    expect(res.status).toBe(200)
  })

  it('rejects a tampered signature, a changed body and an unknown AK with APIG.0301', async () => {
    const tampered = await post({
      tamper: (h) => {
        h.Authorization = must(h.Authorization).replace(
          /Signature=(.)/,
          (_m, c) => `Signature=${c === 'a' ? 'b' : 'a'}`,
        )
      },
    })
    expect(tampered.status).toBe(401)
    expect(tampered.body.error_code).toBe('APIG.0301')

    const url = `${sim.url}/v2/cloudimages/quickimport/action`
    const headers = sign({ method: 'POST', url, headers: {}, body: '{"name":"a"}' }, AKSK, new Date())
    delete headers.host
    const changed = await fetch(url, { method: 'POST', headers, body: '{"name":"b"}' })
    expect(changed.status).toBe(401)

    const unknown = await post({ creds: { ak: 'UNKNOWNAK', sk: AKSK.sk } })
    expect(unknown.status).toBe(401)
    expect(unknown.body.error_code).toBe('APIG.0301')
    expect(sim.control.counters().totalCreates).toBe(0)
  })

  it('answers APIG.0303 when X-Sdk-Date is more than 15 minutes off', async () => {
    const old = await post({ date: new Date(Date.now() - 16 * 60 * 1000) })
    expect(old.status).toBe(401)
    expect(old.body.error_code).toBe('APIG.0303')
    expect(String(old.body.error_msg)).toContain('signature expired')
    const fine = await post({ date: new Date(Date.now() - 14 * 60 * 1000) })
    expect(fine.status).toBe(200)
  })

  it('rejects an X-Project-Id for another project', async () => {
    const res = await post({ tamper: () => {}, body: JSON.stringify(VALID_SYSTEM_BODY) })
    expect(res.status).toBe(200)
    const url = `${sim.url}/v2/cloudimages/quickimport/action`
    const body = JSON.stringify(VALID_SYSTEM_BODY)
    const headers = sign(
      { method: 'POST', url, headers: { 'X-Project-Id': 'other-project' }, body },
      AKSK,
      new Date(),
    )
    delete headers.host
    const other = await fetch(url, { method: 'POST', headers, body })
    expect(other.status).toBe(401)
  })

  it('locks the AK after more than 5 consecutive failures, until reset', async () => {
    const bad = {
      tamper: breakSignature,
    }
    for (let i = 0; i < 5; i++) expect((await post(bad)).status).toBe(401)
    // Five failures are tolerated: a good signature still passes and clears the count.
    expect((await post({})).status).toBe(200)
    for (let i = 0; i < 6; i++) expect((await post(bad)).status).toBe(401)
    const locked = await post({})
    expect(locked.status).toBe(401)
    expect(locked.body.error_code).toBe('APIG.0301')
    expect(String(locked.body.error_msg)).toContain('locked')
    sim.control.reset()
    expect((await post({})).status).toBe(200)
  })

  it('never echoes the secret key or the signature in an error', async () => {
    const res = await post({ tamper: breakSignature })
    const text = JSON.stringify(res.body)
    expect(text).not.toContain(AKSK.sk)
    expect(text).not.toContain('Signature=')
  })
})
