import { describe, expect, it } from 'vitest'
import {
  type CallbackUrlPolicy,
  checkCallbackUrl,
  classifyAddress,
  type HostLookup,
  resolveAndCheckCallbackHost,
} from '../src/callback-url.js'

const strict: CallbackUrlPolicy = { allowPrivate: false, allowHttpLoopback: false }
const devLoopback: CallbackUrlPolicy = { allowPrivate: false, allowHttpLoopback: true }
const privateOk: CallbackUrlPolicy = { allowPrivate: true, allowHttpLoopback: false }

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['100.128.0.1', 'public'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['ff02::1', 'multicast'],
    ['2001:4860:4860::8888', 'public'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:8.8.8.8', 'public'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['2002:c0a8:0101::1', 'private'],
    ['0:0:0:0:0:ffff:c0a8:0101', 'private'],
  ])('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected)
  })

  it('returns null for host names', () => {
    expect(classifyAddress('example.com')).toBeNull()
    expect(classifyAddress('localhost')).toBeNull()
  })
})

describe('checkCallbackUrl', () => {
  it('accepts https to a public host name or address', () => {
    expect(checkCallbackUrl('https://hooks.example.com/ims?x=1', strict)).toEqual({ ok: true })
    expect(checkCallbackUrl('https://8.8.8.8:8443/cb', strict)).toEqual({ ok: true })
    expect(checkCallbackUrl('https://[2001:4860:4860::8888]/cb', strict)).toEqual({ ok: true })
  })

  it.each([
    ['not a url', 'not a valid absolute URL'],
    ['/relative/path', 'not a valid absolute URL'],
    ['ftp://example.com/x', 'must use https'],
    ['file:///etc/passwd', 'must use https'],
    ['http://example.com/cb', 'must use https'],
    ['http://127.0.0.1/cb', 'must use https'],
    ['https://user:pw@example.com/cb', 'user name or password'],
    ['https://10.0.0.5/cb', 'private address'],
    ['https://192.168.0.10/cb', 'private address'],
    ['https://172.20.1.1/cb', 'private address'],
    ['https://127.0.0.1/cb', 'loopback address'],
    ['https://localhost/cb', 'loopback address'],
    ['https://[::1]/cb', 'loopback address'],
    ['https://169.254.169.254/latest/meta-data', 'link-local address'],
    ['https://[fe80::1]/cb', 'link-local address'],
    ['https://[fd00::1]/cb', 'private address'],
    ['https://100.64.1.1/cb', 'cgnat address'],
    ['https://0.0.0.0/cb', 'unspecified address'],
    ['https://[::ffff:127.0.0.1]/cb', 'loopback address'],
    ['https://[::ffff:169.254.169.254]/cb', 'link-local address'],
    // The URL parser normalises these IPv4 spellings to 127.0.0.1 / 10.0.0.1; they must not slip through.
    ['https://2130706433/cb', 'loopback address'],
    ['https://0x7f.0.0.1/cb', 'loopback address'],
    ['https://012.0.0.1/cb', 'private address'],
    [`https://example.com/${'a'.repeat(2100)}`, 'longer than'],
  ])('rejects %s under the strict policy', (url, reason) => {
    const result = checkCallbackUrl(url, strict)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.reason).toContain(reason)
  })

  it('allows plain http to loopback only when allowHttpLoopback is set', () => {
    expect(checkCallbackUrl('http://127.0.0.1:9999/cb', devLoopback)).toEqual({ ok: true })
    expect(checkCallbackUrl('http://localhost:9999/cb', devLoopback)).toEqual({ ok: true })
    expect(checkCallbackUrl('http://[::1]:9999/cb', devLoopback)).toEqual({ ok: true })
    const remote = checkCallbackUrl('http://example.com/cb', devLoopback)
    expect(remote.ok).toBe(false)
    if (!remote.ok) expect(remote.reason).toContain('only to loopback')
    // allowHttpLoopback opens loopback only, not the private ranges.
    expect(checkCallbackUrl('https://10.0.0.1/cb', devLoopback).ok).toBe(false)
  })

  it('allows private and link-local addresses when allowPrivate is set, but never http to them', () => {
    expect(checkCallbackUrl('https://10.0.0.5/cb', privateOk)).toEqual({ ok: true })
    expect(checkCallbackUrl('https://169.254.1.1/cb', privateOk)).toEqual({ ok: true })
    expect(checkCallbackUrl('https://127.0.0.1/cb', privateOk)).toEqual({ ok: true })
    expect(checkCallbackUrl('http://10.0.0.5/cb', privateOk).ok).toBe(false)
    expect(checkCallbackUrl('https://0.0.0.0/cb', privateOk).ok).toBe(false)
  })
})

describe('resolveAndCheckCallbackHost', () => {
  const fixed =
    (map: Record<string, string[]>): HostLookup =>
    async (host) => {
      const addrs = map[host]
      if (!addrs) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' })
      return addrs.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
    }
  const lookup = fixed({
    'hooks.example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
    'internal.example.com': ['10.1.2.3'],
    'mixed.example.com': ['93.184.216.34', '192.168.1.1'],
    'metadata.example.com': ['169.254.169.254'],
    'mapped.example.com': ['::ffff:127.0.0.1'],
    'ula.example.com': ['fd00::5'],
    'empty.example.com': [],
  })

  it('accepts a host whose every address is public and returns them', async () => {
    const result = await resolveAndCheckCallbackHost('https://hooks.example.com/cb', strict, lookup)
    expect(result.ok).toBe(true)
    if (result.ok) expect(result.addresses.map((a) => a.address)).toContain('93.184.216.34')
  })

  it.each([
    ['https://internal.example.com/cb', 'private'],
    ['https://mixed.example.com/cb', 'private'],
    ['https://metadata.example.com/cb', 'link-local'],
    ['https://mapped.example.com/cb', 'loopback'],
    ['https://ula.example.com/cb', 'private'],
    ['https://nowhere.example.com/cb', 'cannot be resolved (ENOTFOUND)'],
    ['https://empty.example.com/cb', 'no address'],
    ['http://hooks.example.com/cb', 'must use https'],
  ])('rejects %s', async (url, reason) => {
    const result = await resolveAndCheckCallbackHost(url, strict, lookup)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.reason).toContain(reason)
  })

  it('allows a name resolving to a private address under allowPrivate', async () => {
    const result = await resolveAndCheckCallbackHost('https://internal.example.com/cb', privateOk, lookup)
    expect(result.ok).toBe(true)
  })

  it('does not resolve IP literals and still judges them', async () => {
    const never: HostLookup = async () => {
      throw new Error('lookup must not be called for an IP literal')
    }
    expect((await resolveAndCheckCallbackHost('https://8.8.8.8/cb', strict, never)).ok).toBe(true)
    expect((await resolveAndCheckCallbackHost('https://10.0.0.1/cb', strict, never)).ok).toBe(false)
  })

  it('resolves localhost with the real resolver and allows it only under a loopback policy', async () => {
    expect((await resolveAndCheckCallbackHost('http://localhost:1/cb', devLoopback)).ok).toBe(true)
    expect((await resolveAndCheckCallbackHost('https://localhost:1/cb', strict)).ok).toBe(false)
  })
})
