import { lookup as dnsLookup } from 'node:dns/promises'
import { isIP } from 'node:net'

/**
 * The callback_url policy shared by the API (at intake: syntax and IP literals) and the worker
 * (at delivery, and again on every redirect: the resolved addresses). A callback must not become
 * a way to make the service call into its own network (SSRF).
 */
export interface CallbackUrlPolicy {
  /** Allow private, loopback, link-local, CGNAT and other non-public addresses. */
  allowPrivate: boolean
  /** Allow plain http, and only to loopback (127.0.0.0/8, ::1, localhost): for local development. */
  allowHttpLoopback: boolean
}

export type CallbackUrlCheck = { ok: true } | { ok: false; reason: string }

export type AddressClass =
  | 'public'
  | 'private'
  | 'loopback'
  | 'link-local'
  | 'unspecified'
  | 'cgnat'
  | 'multicast'
  | 'reserved'

/** Longest URL accepted; also bounds what is stored on the record. */
export const MAX_CALLBACK_URL_LENGTH = 2048

function classifyIpv4(octets: readonly number[]): AddressClass {
  const [a = 0, b = 0] = octets
  if (a === 0) return 'unspecified' // 0.0.0.0/8: "this network"
  if (a === 127) return 'loopback'
  if (a === 10) return 'private'
  if (a === 172 && b >= 16 && b <= 31) return 'private'
  if (a === 192 && b === 168) return 'private'
  if (a === 169 && b === 254) return 'link-local'
  if (a === 100 && b >= 64 && b <= 127) return 'cgnat'
  if (a === 192 && b === 0 && octets[2] === 0) return 'reserved' // 192.0.0.0/24 IETF protocol assignments
  if (a === 198 && (b === 18 || b === 19)) return 'reserved' // benchmarking
  if (a >= 224 && a <= 239) return 'multicast'
  if (a >= 240) return 'reserved' // 240/4 and the broadcast address
  return 'public'
}

function parseIpv4(text: string): number[] | null {
  const parts = text.split('.')
  if (parts.length !== 4) return null
  const octets = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : Number.NaN))
  return octets.every((o) => Number.isInteger(o) && o >= 0 && o <= 255) ? octets : null
}

/** Eight 16-bit groups of an IPv6 address (with `::` expanded and a trailing dotted quad folded in). */
function parseIpv6(text: string): number[] | null {
  let s = text.toLowerCase()
  const zone = s.indexOf('%')
  if (zone >= 0) s = s.slice(0, zone)
  let tail: number[] = []
  const lastColon = s.lastIndexOf(':')
  if (s.slice(lastColon + 1).includes('.')) {
    const v4 = parseIpv4(s.slice(lastColon + 1))
    if (!v4) return null
    tail = [((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0)]
    // Keep a '::' that ends right before the dotted quad; drop a single separating ':'.
    s = s.slice(0, lastColon + 1)
    if (!s.endsWith('::')) s = s.slice(0, -1)
  }
  const halves = s.split('::')
  if (halves.length > 2) return null
  const toGroups = (h: string | undefined) => (h ? h.split(':').filter((g) => g !== '') : [])
  const head = toGroups(halves[0]).map((g) => Number.parseInt(g, 16))
  const rest = toGroups(halves[1]).map((g) => Number.parseInt(g, 16))
  const known = head.length + rest.length + tail.length
  if (halves.length === 1 && known !== 8) return null
  if (known > 8) return null
  const groups = [...head, ...new Array(8 - known).fill(0), ...rest, ...tail]
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null
}

function classifyIpv6(g: readonly number[]): AddressClass {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g
  const embedded = () => [g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff]
  const firstSixZero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0
  if (firstSixZero && g5 === 0 && g6 === 0 && g7 === 0) return 'unspecified'
  if (firstSixZero && g5 === 0 && g6 === 0 && g7 === 1) return 'loopback'
  // IPv4-mapped ::ffff:a.b.c.d and the deprecated IPv4-compatible ::a.b.c.d: judge the IPv4 inside.
  if (firstSixZero && (g5 === 0xffff || g5 === 0)) return classifyIpv4(embedded())
  // NAT64 64:ff9b::/96 reaches the embedded IPv4 address.
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0)
    return classifyIpv4(embedded())
  // 6to4 2002::/16 carries an IPv4 address in bits 16..47.
  if (g0 === 0x2002) return classifyIpv4([g1 >> 8, g1 & 0xff, g2 >> 8, g2 & 0xff])
  if ((g0 & 0xfe00) === 0xfc00) return 'private' // fc00::/7 unique local
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local' // fe80::/10
  if ((g0 & 0xffc0) === 0xfec0) return 'private' // fec0::/10 deprecated site-local
  if ((g0 & 0xff00) === 0xff00) return 'multicast'
  return 'public'
}

/** Classifies an IP address literal (v4 or v6, brackets allowed); null when it is not an IP. */
export function classifyAddress(address: string): AddressClass | null {
  const text = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address
  const family = isIP(text.split('%')[0] ?? '')
  if (family === 4) {
    const octets = parseIpv4(text)
    return octets ? classifyIpv4(octets) : null
  }
  if (family === 6) {
    const groups = parseIpv6(text)
    return groups ? classifyIpv6(groups) : null
  }
  return null
}

function isLoopbackName(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '')
  return h === 'localhost' || h.endsWith('.localhost')
}

function addressAllowed(cls: AddressClass, policy: CallbackUrlPolicy): CallbackUrlCheck {
  if (cls === 'public') return { ok: true }
  if (cls === 'loopback' && (policy.allowPrivate || policy.allowHttpLoopback)) return { ok: true }
  if (policy.allowPrivate && cls !== 'unspecified' && cls !== 'multicast') return { ok: true }
  return { ok: false, reason: `callback_url must not point at a ${cls} address` }
}

/**
 * The check at intake: a well-formed absolute https URL (http only to loopback, and only when
 * allowHttpLoopback), no credentials in it, and no IP literal outside the allowed ranges.
 * Host names are not resolved here; the worker calls resolveAndCheckCallbackHost at delivery.
 */
export function checkCallbackUrl(url: string, policy: CallbackUrlPolicy): CallbackUrlCheck {
  if (url.length > MAX_CALLBACK_URL_LENGTH)
    return { ok: false, reason: `callback_url is longer than ${MAX_CALLBACK_URL_LENGTH} characters` }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return { ok: false, reason: 'callback_url is not a valid absolute URL' }
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    return { ok: false, reason: 'callback_url must use https' }
  if (parsed.username || parsed.password)
    return { ok: false, reason: 'callback_url must not contain user name or password' }
  const host = parsed.hostname
  if (!host) return { ok: false, reason: 'callback_url has no host' }
  const cls = classifyAddress(host)
  const loopback = cls === 'loopback' || (cls === null && isLoopbackName(host))
  if (parsed.protocol === 'http:') {
    if (!policy.allowHttpLoopback) return { ok: false, reason: 'callback_url must use https' }
    if (!loopback)
      return { ok: false, reason: 'callback_url must use https (plain http is allowed only to loopback)' }
  }
  if (cls !== null) return addressAllowed(cls, policy)
  if (loopback) return addressAllowed('loopback', policy)
  return { ok: true }
}

export interface ResolvedAddress {
  address: string
  family: number
}

/** Resolves a host name to all its addresses (node:dns by default; tests pass their own). */
export type HostLookup = (hostname: string) => Promise<ResolvedAddress[]>

const defaultLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true })

/**
 * The check at delivery time (and on every redirect): checkCallbackUrl, then every address the
 * host name resolves to must be allowed. Returns the addresses so the caller can connect to a
 * checked one (a second resolution could answer differently: DNS rebinding).
 */
export async function resolveAndCheckCallbackHost(
  url: string,
  policy: CallbackUrlPolicy,
  lookup: HostLookup = defaultLookup,
): Promise<{ ok: true; addresses: ResolvedAddress[] } | { ok: false; reason: string }> {
  const syntactic = checkCallbackUrl(url, policy)
  if (!syntactic.ok) return syntactic
  const host = new URL(url).hostname
  const literal = host.startsWith('[') ? host.slice(1, -1) : host
  const family = isIP(literal)
  if (family !== 0) return { ok: true, addresses: [{ address: literal, family }] }
  let addresses: ResolvedAddress[]
  try {
    addresses = await lookup(host)
  } catch (err) {
    const code = (err as { code?: string }).code
    return { ok: false, reason: `callback host cannot be resolved${code ? ` (${code})` : ''}` }
  }
  if (addresses.length === 0) return { ok: false, reason: 'callback host resolves to no address' }
  const http = new URL(url).protocol === 'http:'
  for (const { address } of addresses) {
    const cls = classifyAddress(address)
    if (cls === null) return { ok: false, reason: 'callback host resolves to an unparseable address' }
    if (http && cls !== 'loopback')
      return { ok: false, reason: 'callback_url must use https (plain http is allowed only to loopback)' }
    const allowed = addressAllowed(cls, policy)
    if (!allowed.ok)
      return { ok: false, reason: `callback host resolves to a ${cls} address, which is not allowed` }
  }
  return { ok: true, addresses }
}
