import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  canonicalQueryString,
  canonicalUri,
  encodeRfc3986,
  formatSdkDate,
  signRequest,
} from '../src/signer.js'

// Published vectors: huaweicloud-sdk-go-v3 core/auth/signer/signer_test.go (ims-api.md §4b).
const credentials = { ak: 'AccessKey', sk: 'SecretKey' }
const vectorHeaders = { 'X-Sdk-Date': '20060102T150405Z', TEST_UNDERSCORE: 'TEST_VALUE' }
const anyDate = new Date('2030-01-01T00:00:00Z')
/** Signs a request of the published vectors (their credentials and headers). */
const signVector = (method: string, url: string, body?: string) =>
  signRequest(
    { method, url, headers: vectorHeaders, ...(body === undefined ? {} : { body }) },
    credentials,
    anyDate,
  )

describe('signRequest', () => {
  it('reproduces the published GET vector', () => {
    const added = signVector('GET', 'https://example.huaweicloud.com/path?limit=1')
    expect(added.Authorization).toBe(
      'SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624',
    )
    expect(added['X-Sdk-Date']).toBe('20060102T150405Z')
  })

  it('reproduces the published POST vector, whose body ends in a newline', () => {
    const body = '{"Name":"test","Id":1}\n'
    expect(createHash('sha256').update(body).digest('hex')).toMatch(/^a29d7b4c.*1289$/)
    const added = signVector('POST', 'https://example.huaweicloud.com/path?key=value', body)
    expect(added.Authorization).toContain(
      'Signature=cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59',
    )
    const withoutNewline = signVector(
      'POST',
      'https://example.huaweicloud.com/path?key=value',
      body.trimEnd(),
    )
    expect(withoutNewline.Authorization).not.toContain('cecc2af1')
  })

  it('sorts the query by raw names before encoding, as the official SDK signers do', () => {
    // Raw order: "z" (0x7A) before "é" (0xC3 0xA9); encoded order would put "%C3%A9" first.
    // Signature computed by hand from ims-api.md §4b (canonical query "z=1&%C3%A9=2"), and equal to
    // what @huaweicloud/huaweicloud-sdk-core's AKSKSigner gives (test/official-signer.test.ts).
    const added = signVector('GET', 'https://example.huaweicloud.com/path?%C3%A9=2&z=1')
    expect(added.Authorization).toBe(
      'SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=ee2a7184ebf135ed35c4d611f587b1cb13b449ae93c23ae2ac30b05250647835',
    )
    expect(canonicalQueryString('?%C3%A9=2&z=1')).toBe('z=1&%C3%A9=2')
    expect(canonicalQueryString('?k=%7B&k=z&k=%3A&k=5')).toBe('k=5&k=%3A&k=z&k=%7B')
  })

  it('hashes a Uint8Array body the same as the equal string', () => {
    const req = {
      method: 'POST',
      url: 'https://example.huaweicloud.com/path?key=value',
      headers: vectorHeaders,
    }
    const fromBytes = signRequest(
      { ...req, body: new TextEncoder().encode('{"Name":"test","Id":1}\n') },
      credentials,
      anyDate,
    )
    expect(fromBytes.Authorization).toContain('Signature=cecc2af1')
  })

  it('adds X-Sdk-Date from the date when the caller did not pass one, and signs host and content-type', () => {
    const added = signRequest(
      {
        method: 'POST',
        url: 'https://ims.example.com/v2/cloudimages/quickimport/action',
        headers: { Host: 'ims.example.com', 'Content-Type': 'application/json' },
        body: '{}',
      },
      credentials,
      new Date('2019-11-15T03:36:55.123Z'),
    )
    expect(added['X-Sdk-Date']).toBe('20191115T033655Z')
    expect(added.Authorization).toMatch(
      /^SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=content-type;host;x-sdk-date, Signature=[0-9a-f]{64}$/,
    )
  })

  it('is pure: same input, same output; a changed signed header changes the signature', () => {
    const req = {
      method: 'GET',
      url: 'https://example.huaweicloud.com/path?limit=1',
      headers: { ...vectorHeaders, Host: 'a' },
    }
    const first = signRequest(req, credentials, anyDate)
    expect(signRequest(req, credentials, anyDate)).toEqual(first)
    expect(signRequest({ ...req, headers: { ...req.headers, Host: 'b' } }, credentials, anyDate)).not.toEqual(
      first,
    )
    expect(req.headers).toEqual({ ...vectorHeaders, Host: 'a' })
  })

  it('honours X-Sdk-Content-Sha256 instead of hashing the body', () => {
    const emptyHash = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    const plain = signRequest(
      { method: 'GET', url: 'https://example.huaweicloud.com/path?limit=1', headers: vectorHeaders },
      credentials,
      anyDate,
    )
    const declared = signRequest(
      {
        method: 'GET',
        url: 'https://example.huaweicloud.com/path?limit=1',
        headers: { ...vectorHeaders, 'X-Sdk-Content-Sha256': emptyHash },
        body: 'ignored',
      },
      credentials,
      anyDate,
    )
    expect(declared.Authorization).toContain('SignedHeaders=x-sdk-content-sha256;x-sdk-date')
    expect(plain.Authorization).not.toEqual(declared.Authorization)
  })
})

describe('canonical parts', () => {
  it('encodes query values per RFC 3986 (the Go SDK test string)', () => {
    expect(encodeRfc3986('一 (&=?!#%.*)')).toBe('%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29')
    expect(encodeRfc3986('/tmp/123')).toBe('%2Ftmp%2F123')
    expect(encodeRfc3986("AZaz09-_.~!'")).toBe('AZaz09-_.~%21%27')
  })

  it('sorts the query by key then value and encodes both', () => {
    expect(canonicalQueryString('?b=2&a=z&a=y&tag=ims_importer_id%3Dabc&e')).toBe(
      'a=y&a=z&b=2&e=&tag=ims_importer_id%3Dabc',
    )
    expect(canonicalQueryString('')).toBe('')
    expect(canonicalQueryString(`?test=${encodeURIComponent('一 (&=?!#%.*)')}`)).toBe(
      'test=%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29',
    )
  })

  it('appends a slash to the canonical URI and encodes each segment', () => {
    expect(canonicalUri('/v2/cloudimages/quickimport/action')).toBe('/v2/cloudimages/quickimport/action/')
    expect(canonicalUri('/path/')).toBe('/path/')
    expect(canonicalUri('/')).toBe('/')
    expect(canonicalUri('/v1/a%20b/jobs')).toBe('/v1/a%20b/jobs/')
  })

  it('formats X-Sdk-Date as YYYYMMDDTHHmmssZ in UTC', () => {
    expect(formatSdkDate(new Date('2006-01-02T15:04:05.999Z'))).toBe('20060102T150405Z')
  })
})
