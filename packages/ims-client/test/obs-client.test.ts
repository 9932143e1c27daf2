import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { createServer } from 'node:http'
import type { AddressInfo, LookupFunction } from 'node:net'
import {
  type RunningSimulator,
  obsStringToSign as simulatorStringToSign,
  startSimulator,
} from 'ims-simulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createObsClient,
  type ObsClient,
  type ObsClientOptions,
  ObsError,
  obsEncodeKey,
  obsStringToSign,
  signObsRequest,
} from '../src/index.js'
import { SIM_AKSK } from './sim-auth.js'
import { type StubServer, startStubServer } from './stub-server.js'

// The OBS client against the simulator's OBS (signature verified there), both addressings; the
// answers the simulator does not give on demand (5xx, SlowDown) from the stub server.

const WRONG_SK = 'wrong-Very-Secret-Key-123'

let sim: RunningSimulator
let stub: StubServer
const clients: ObsClient[] = []

beforeAll(async () => {
  sim = await startSimulator({
    obs: {
      buckets: [
        {
          name: 'images-eu',
          region: 'eu-de',
          objects: [
            { key: 'disks/web 01/sys.zvhd2', size: 12 * 2 ** 30 },
            { key: 'disks/cold.raw', size: 5000, storageClass: 'COLD' },
          ],
        },
        { name: 'archive-nl', region: 'eu-nl', storageClass: 'WARM' },
      ],
    },
  })
  stub = await startStubServer()
})
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()))
  await sim.close()
  await stub.close()
})

/** Resolves every `<bucket>.localhost` to 127.0.0.1, so that virtual-host requests reach the simulator. */
const localBuckets = ((hostname: string, options: unknown, callback: unknown) => {
  const cb = (typeof options === 'function' ? options : callback) as (
    err: NodeJS.ErrnoException | null,
    address: string | LookupAddress[],
    family?: number,
  ) => void
  const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all
  if (!hostname.endsWith('.localhost')) return dnsLookup(hostname, options as never, cb as never)
  return all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)
}) as LookupFunction

function client(o: Partial<ObsClientOptions> = {}): ObsClient {
  const c = createObsClient({ endpoint: sim.url, credentials: SIM_AKSK, ...o })
  clients.push(c)
  return c
}

async function obsError(p: Promise<unknown>): Promise<ObsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ObsError)
  return err as ObsError
}

describe('OBS signer', () => {
  it('builds the string to sign as the simulator rebuilds it from the request received', () => {
    const encodedKey = obsEncodeKey('disks/web 01/sys.zvhd2')
    expect(encodedKey).toBe('disks/web%2001/sys.zvhd2')
    const headers = signObsRequest(
      { method: 'HEAD', bucket: 'images-eu', encodedKey },
      { ...SIM_AKSK, securityToken: 'sts-token' },
      new Date('2026-12-06T10:00:00Z'),
    )
    expect(headers['x-obs-date']).toBe('Sun, 06 Dec 2026 10:00:00 GMT')
    const ours = obsStringToSign({
      method: 'HEAD',
      bucket: 'images-eu',
      encodedKey,
      obsHeaders: { 'x-obs-date': headers['x-obs-date'] as string, 'x-obs-security-token': 'sts-token' },
    })
    expect(ours).toBe(
      'HEAD\n\n\n\nx-obs-date:Sun, 06 Dec 2026 10:00:00 GMT\nx-obs-security-token:sts-token\n/images-eu/disks/web%2001/sys.zvhd2',
    )
    const theirs = simulatorStringToSign(
      { method: 'HEAD', resourcePath: `/images-eu/${encodedKey}`, query: '', headers },
      'OBS',
    )
    expect(ours).toBe(theirs)
    expect(headers.authorization).toMatch(/^OBS SIMAK0000000000000001:[A-Za-z0-9+/]+=*$/)
  })
})

describe.each(['path', 'virtual-host'] as const)('OBS client against the simulator (%s)', (addressing) => {
  const options = (): Partial<ObsClientOptions> =>
    addressing === 'path'
      ? { addressing }
      : { addressing, endpoint: sim.url.replace('127.0.0.1', 'localhost'), lookup: localBuckets }

  it('reads an object: size, Standard when OBS sends no class; a non-Standard class', async () => {
    const c = client(options())
    expect(await c.headObject('images-eu', 'disks/web 01/sys.zvhd2')).toMatchObject({
      kind: 'found',
      sizeBytes: 12 * 2 ** 30,
      storageClass: 'STANDARD',
    })
    expect(await c.headObject('images-eu', 'disks/cold.raw')).toMatchObject({
      kind: 'found',
      sizeBytes: 5000,
      storageClass: 'COLD',
    })
  })

  it('answers a missing object or bucket as a value', async () => {
    const c = client(options())
    expect(await c.headObject('images-eu', 'disks/nope.zvhd2')).toEqual({
      kind: 'not-found',
      code: 'NoSuchKey',
    })
    // Virtual-host: the simulator knows the host names of the buckets it holds only, so its answer
    // for another one is a bare 404 (no OBS code); still not-found.
    expect(await c.bucketLocation('no-such-bucket')).toMatchObject({ kind: 'not-found' })
    if (addressing === 'path')
      expect(await c.bucketLocation('no-such-bucket')).toEqual({ kind: 'not-found', code: 'NoSuchBucket' })
  })

  it("reads a bucket's location and default storage class", async () => {
    const c = client(options())
    expect(await c.bucketLocation('images-eu')).toEqual({ kind: 'found', location: 'eu-de' })
    expect(await c.bucketLocation('archive-nl')).toEqual({ kind: 'found', location: 'eu-nl' })
    expect(await c.bucketStorageClass('images-eu')).toEqual({ kind: 'found', storageClass: 'STANDARD' })
    expect(await c.bucketStorageClass('archive-nl')).toEqual({ kind: 'found', storageClass: 'WARM' })
  })

  it('throws kind auth when OBS refuses the signature, without the secret in the message', async () => {
    const c = client({ ...options(), credentials: { ak: SIM_AKSK.ak, sk: WRONG_SK } })
    const err = await obsError(c.bucketLocation('images-eu'))
    expect(err.kind).toBe('auth')
    expect(err.code).toBe('SignatureDoesNotMatch')
    expect(`${err.message} ${JSON.stringify(err)}`).not.toContain(WRONG_SK)
  })
})

describe('OBS client: answers that say nothing about the object', () => {
  it('5xx is unavailable, 503 SlowDown is throttled, a closed port is unavailable', async () => {
    const c = client({ endpoint: stub.url })
    stub.handle((_req, res) => {
      res
        .writeHead(500, { 'content-type': 'application/xml' })
        .end('<Error><Code>InternalError</Code></Error>')
    })
    expect((await obsError(c.bucketLocation('images-eu'))).kind).toBe('unavailable')
    stub.handle((_req, res) => {
      res.writeHead(503, { 'x-obs-error-code': 'SlowDown' }).end()
    })
    expect((await obsError(c.headObject('images-eu', 'a.zvhd2'))).kind).toBe('throttled')
    expect(stub.requests.at(-1)?.url).toBe('/images-eu/a.zvhd2')
    expect(stub.requests.at(-1)?.headers.authorization).toMatch(/^OBS SIMAK/)

    const closed = createObsClient({ endpoint: 'http://127.0.0.1:1', credentials: SIM_AKSK })
    clients.push(closed)
    const err = await obsError(closed.headObject('images-eu', 'a.zvhd2'))
    expect(err.kind).toBe('unavailable')
    expect(err.message).not.toContain(SIM_AKSK.sk)
  })

  it('keeps its connection open across HEADs (not one connection per pre-flight)', async () => {
    let connections = 0
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-length': '5000', 'x-obs-storage-class': 'STANDARD' }).end()
      req.resume()
    })
    server.on('connection', () => connections++)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const c = client({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
      for (let i = 0; i < 10; i++)
        expect(await c.headObject('images-eu', `disks/${i}.zvhd2`)).toMatchObject({
          kind: 'found',
          sizeBytes: 5000,
        })
      // undici (7.30) still closes the very first connection after its HEAD; every later HEAD
      // shares the second one. Without reset: false, each HEAD had its own (10).
      expect(connections).toBeLessThanOrEqual(2)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('a request without an answer in time is unavailable', async () => {
    const c = client({ endpoint: stub.url, timeoutMs: 200 })
    stub.handle(() => undefined)
    const err = await obsError(c.headObject('images-eu', 'a.zvhd2'))
    expect(err.kind).toBe('unavailable')
    expect(err.message).toContain('200 ms')
  })
})
