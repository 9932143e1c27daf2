import { createHash, createHmac } from 'node:crypto'
import { afterAll, beforeAll } from 'vitest'
import { type RunningSimulator, type SimulatorOptions, startSimulator } from '../src/index.js'

export const USER = { name: 'sim-user', password: 'sim-password', domain: 'sim-domain' }
export const AKSK = { ak: 'SIMAK0000000000000001', sk: 'sim-secret-key' }

export const VALID_SYSTEM_BODY = {
  name: 'ims_test_file',
  description: 'Create an image using a file in the OBS bucket.',
  image_url: 'ims-image:centos70.zvhd2',
  os_version: 'CentOS 7.0 64bit',
  min_disk: 40,
  type: 'ECS',
}

export const VALID_DATA_BODY = {
  name: 'ims_test_file',
  description: 'Create an image using a file in the OBS bucket.',
  image_url: 'ims-image:centos70.zvhd2',
  os_type: 'Linux',
  min_disk: 40,
  type: 'DataImage',
}

export function passwordAuthBody(
  user = USER,
  project: { id?: string; name?: string } = { id: 'sim-project' },
) {
  return {
    auth: {
      identity: {
        methods: ['password'],
        password: { user: { name: user.name, password: user.password, domain: { name: user.domain } } },
      },
      scope: { project },
    },
  }
}

export async function getToken(url: string, user = USER): Promise<string> {
  const res = await fetch(`${url}/v3/auth/tokens?nocatalog=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json;charset=utf8' },
    body: JSON.stringify(passwordAuthBody(user)),
  })
  if (res.status !== 201) throw new Error(`token request answered ${res.status}`)
  const token = res.headers.get('x-subject-token')
  if (!token) throw new Error('no X-Subject-Token')
  return token
}

/** A test-side signer, written from the steps of ims-api.md §4b (not shared with the simulator). */
export function sign(
  req: { method: string; url: string; headers: Record<string, string>; body?: string },
  creds: { ak: string; sk: string },
  date: Date,
): Record<string, string> {
  const u = new URL(req.url)
  const sdkDate = date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z')
  const headers: Record<string, string> = { ...req.headers, 'X-Sdk-Date': sdkDate, host: u.host }
  const enc = (s: string) =>
    encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  const path = u.pathname
    .split('/')
    .map((s) => enc(decodeURIComponent(s)))
    .join('/')
  // Sorted raw, then encoded (as the official SDK signers do).
  const bytes = (s: string) => Buffer.from(s, 'utf8')
  const query = [...u.searchParams]
    .sort((a, b) => Buffer.compare(bytes(a[0]), bytes(b[0])) || Buffer.compare(bytes(a[1]), bytes(b[1])))
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .join('&')
  const names = Object.keys(headers)
    .map((h) => h.toLowerCase())
    .sort()
  const value = (n: string) => Object.entries(headers).find(([k]) => k.toLowerCase() === n)?.[1] ?? ''
  const canonical = [
    req.method,
    path.endsWith('/') ? path : `${path}/`,
    query,
    names.map((n) => `${n}:${value(n).trim()}\n`).join(''),
    names.join(';'),
    createHash('sha256')
      .update(req.body ?? '')
      .digest('hex'),
  ].join('\n')
  const toSign = `SDK-HMAC-SHA256\n${sdkDate}\n${createHash('sha256').update(canonical).digest('hex')}`
  const signature = createHmac('sha256', creds.sk).update(toSign).digest('hex')
  return {
    ...headers,
    Authorization: `SDK-HMAC-SHA256 Access=${creds.ak}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
  }
}

/** The value, or a test failure when it is missing. */
export function must<T>(value: T | null | undefined, what = 'value'): T {
  if (value === null || value === undefined) throw new Error(`${what} missing`)
  return value
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls until `check` returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await sleep(25)
  }
}

/**
 * A simulator started before the tests of the calling describe block, with a token for it, and
 * closed after them: `s.sim`, `s.token`.
 */
export function useSimulator(options: SimulatorOptions): { sim: RunningSimulator; token: string } {
  const s = {} as { sim: RunningSimulator; token: string }
  beforeAll(async () => {
    s.sim = await startSimulator(options)
    s.token = await getToken(s.sim.url)
  })
  afterAll(() => s.sim?.close())
  return s
}
