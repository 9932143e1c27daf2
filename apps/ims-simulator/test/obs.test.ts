import { createHmac } from 'node:crypto'
import http from 'node:http'
import ObsClient from 'esdk-obs-nodejs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildSimulator, type RunningSimulator, startSimulator } from '../src/index.js'
import { AKSK, eventually, getToken, must, VALID_SYSTEM_BODY } from './helpers.js'

const GIB = 2 ** 30
const SEED = {
  buckets: [
    {
      name: 'images-eu-de',
      objects: [
        { key: 'disks/web01.zvhd2', size: 20 * GIB },
        { key: 'disks/big.zvhd2', size: 2 ** 40 + 1 },
        { key: 'disks/db01.raw', size: 30 * GIB },
        { key: 'disks/db01.mf', size: 1024 },
        { key: 'disks/lonely.raw', size: 10 * GIB },
        { key: 'disks/warm.zvhd2', size: GIB, storageClass: 'WARM' as const },
      ],
    },
    { name: 'images-nl', region: 'eu-nl', objects: [{ key: 'web.zvhd2', size: GIB }] },
    { name: 'archive-eu-de', storageClass: 'COLD' as const, objects: [{ key: 'old.zvhd2', size: GIB }] },
  ],
}

/** A test-side OBS signer, written from obs-api.md "Signature" (not shared with the simulator). */
function obsHeaders(
  method: string,
  resource: string,
  sk = AKSK.sk,
  extra: Record<string, string> = {},
): Record<string, string> {
  const date = new Date().toUTCString()
  const toSign = `${method}\n\n\n${date}\n${resource}`
  const signature = createHmac('sha1', sk).update(toSign).digest('base64')
  return { date, authorization: `OBS ${AKSK.ak}:${signature}`, ...extra }
}

describe('OBS in the simulator', () => {
  const { app, control } = buildSimulator({ obs: SEED })
  afterAll(() => app.close())
  /** A request signed with the seed's credentials, for the path it names. */
  const signed = (method: 'GET' | 'HEAD', url: string) =>
    app.inject({ method, url, headers: obsHeaders(method, url) })

  it('answers HEAD of an object, path style, with its size and no class header for Standard', async () => {
    const res = await signed('HEAD', '/images-eu-de/disks/web01.zvhd2')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-length']).toBe(String(20 * GIB))
    expect(res.headers.etag).toMatch(/^"[0-9a-f]{32}"$/)
    expect(res.headers['last-modified']).toMatch(/GMT$/)
    expect(res.headers['x-obs-storage-class']).toBeUndefined()
    expect(res.body).toBe('')
  })

  it('answers HEAD virtual-host style, with x-obs-storage-class for a class other than Standard', async () => {
    const res = await app.inject({
      method: 'HEAD',
      url: '/disks/warm.zvhd2',
      headers: {
        host: 'images-eu-de.obs.eu-de.example',
        ...obsHeaders('HEAD', '/images-eu-de/disks/warm.zvhd2'),
      },
    })
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-obs-storage-class']).toBe('WARM')
  })

  it('answers GET /?location (and ?storageClass) with the bucket region as XML', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/?location',
      headers: { host: 'images-nl.obs.eu-de.example', ...obsHeaders('GET', '/images-nl/?location') },
    })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/xml/)
    expect(res.body).toMatch(/<Location xmlns="[^"]+">eu-nl<\/Location>/)
    const cls = await signed('GET', '/archive-eu-de?storageClass')
    expect(cls.body).toMatch(/<StorageClass[^>]*>COLD<\/StorageClass>/)
  })

  it("answers a wrong signature with OBS's 403 SignatureDoesNotMatch XML (bare 403 for a HEAD)", async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/images-nl?location',
      headers: obsHeaders('GET', '/images-nl?location', 'wrong-secret'),
    })
    expect(res.statusCode).toBe(403)
    expect(res.body).toMatch(/^<\?xml/)
    expect(res.body).toMatch(/<Error><Code>SignatureDoesNotMatch<\/Code><Message>[^<]+<\/Message><RequestId>/)
    const head = await app.inject({
      method: 'HEAD',
      url: '/images-eu-de/disks/web01.zvhd2',
      headers: obsHeaders('HEAD', '/images-eu-de/disks/other.zvhd2'),
    })
    expect(head.statusCode).toBe(403)
    expect(head.body).toBe('')
    expect(head.headers['x-obs-error-code']).toBe('SignatureDoesNotMatch')
  })

  it('answers 404 NoSuchKey / NoSuchBucket, 403 to anonymous, unknown AK and a skewed clock', async () => {
    const key = await signed('GET', '/images-eu-de/nope.zvhd2')
    expect(key.statusCode).toBe(404)
    expect(key.body).toContain('<Code>NoSuchKey</Code>')
    const bucket = await signed('HEAD', '/no-such-bucket/a.zvhd2')
    expect(bucket.statusCode).toBe(404)
    expect(bucket.headers['x-obs-error-code']).toBe('NoSuchBucket')
    const anonymous = await app.inject({ method: 'GET', url: '/images-eu-de?location' })
    expect(anonymous.body).toContain('<Code>AccessDenied</Code>')
    const unknown = await app.inject({
      method: 'GET',
      url: '/images-eu-de?location',
      headers: { ...obsHeaders('GET', '/images-eu-de?location'), authorization: 'OBS NOBODY:abc=' },
    })
    expect(unknown.body).toContain('<Code>InvalidAccessKeyId</Code>')
    const old = new Date(Date.now() - 20 * 60_000).toUTCString()
    const signature = createHmac('sha1', AKSK.sk)
      .update(`GET\n\n\n${old}\n/images-eu-de?location`)
      .digest('base64')
    const skewed = await app.inject({
      method: 'GET',
      url: '/images-eu-de?location',
      headers: { date: old, authorization: `OBS ${AKSK.ak}:${signature}` },
    })
    expect(skewed.body).toContain('<Code>RequestTimeTooSkewed</Code>')
  })

  it('counts OBS requests, and only those, as op obs', async () => {
    const before = control.counters().requests.obs ?? 0
    await signed('HEAD', '/images-eu-de/disks/web01.zvhd2')
    await app.inject({ method: 'GET', url: '/v2/nothing' })
    expect(control.counters().requests.obs).toBe(before + 1)
    expect(control.requestLog('obs').at(-1)).toMatchObject({ op: 'obs', status: 200 })
  })

  it('answers OBS requests obsLatencyMs late (OBS a network hop away), and IMS calls on time', async () => {
    const far = buildSimulator({ obs: SEED, obsLatencyMs: 300 })
    try {
      const url = '/images-eu-de/disks/web01.zvhd2'
      const started = performance.now()
      const res = await far.app.inject({ method: 'HEAD', url, headers: obsHeaders('HEAD', url) })
      expect(res.statusCode).toBe(200)
      expect(performance.now() - started).toBeGreaterThanOrEqual(295)
      const ims = performance.now()
      expect((await far.app.inject({ method: 'GET', url: '/v2/nothing' })).statusCode).toBe(404)
      expect(performance.now() - ims).toBeLessThan(295)
    } finally {
      await far.app.close()
    }
  })

  it("leaves IMS's own 404 for paths that are not OBS", async () => {
    for (const url of ['/', '/v2/nothing', '/v1/sim-project/nothing/here']) {
      const res = await app.inject({ method: 'GET', url })
      expect(res.statusCode).toBe(404)
      expect(res.json()).toMatchObject({ error_code: 'APIG.0101' })
    }
  })

  it('takes buckets and objects from the control API', async () => {
    const put = await app.inject({
      method: 'PUT',
      url: '/__sim/obs/buckets',
      payload: { name: 'added-later', objects: [{ key: 'a.zvhd2', size: 5 }] },
    })
    expect(put.statusCode).toBe(204)
    const obj = await app.inject({
      method: 'PUT',
      url: '/__sim/obs/buckets/added-later/objects',
      payload: { key: 'dir/b.zvhd2', size: 7 },
    })
    expect(obj.statusCode).toBe(204)
    const head = await signed('HEAD', '/added-later/dir/b.zvhd2')
    expect(head.headers['content-length']).toBe('7')
    const del = await app.inject({
      method: 'DELETE',
      url: '/__sim/obs/buckets/added-later/objects/dir/b.zvhd2',
    })
    expect(del.statusCode).toBe(204)
    const snapshot = (await app.inject({ method: 'GET', url: '/__sim/obs' })).json() as {
      buckets: Array<{ name: string; objects: unknown[] }>
    }
    expect(snapshot.buckets.find((b) => b.name === 'added-later')?.objects).toEqual([
      { key: 'a.zvhd2', size: 5, storageClass: 'STANDARD' },
    ])
    expect(
      (
        await app.inject({
          method: 'PUT',
          url: '/__sim/obs/buckets/nope/objects',
          payload: { key: 'x', size: 1 },
        })
      ).statusCode,
    ).toBe(404)
  })
})

describe("OBS through Huawei's official Node SDK (esdk-obs-nodejs)", () => {
  let sim: RunningSimulator
  beforeAll(async () => {
    sim = await startSimulator({ obs: SEED })
  })
  afterAll(() => sim.close())

  // An IP endpoint makes the SDK use path style, and with it the S3 V2 signature ("AWS AK:sig").
  // Its constructor starts an async set-up it does not return: let it finish before the first call.
  const client = async (sk = AKSK.sk) => {
    const obs = new ObsClient({
      access_key_id: AKSK.ak,
      secret_access_key: sk,
      server: sim.url,
      max_retry_count: 0,
    })
    await new Promise((resolve) => setImmediate(resolve))
    return obs
  }

  it('reads object metadata and the bucket location', async () => {
    const obs = await client()
    const meta = await obs.getObjectMetadata({ Bucket: 'images-eu-de', Key: 'disks/web01.zvhd2' })
    expect(meta.CommonMsg.Status).toBe(200)
    expect(Number(meta.InterfaceResult.ContentLength)).toBe(20 * GIB)
    const warm = await obs.getObjectMetadata({ Bucket: 'images-eu-de', Key: 'disks/warm.zvhd2' })
    expect(warm.InterfaceResult.StorageClass).toBe('STANDARD_IA')
    const location = await obs.getBucketLocation({ Bucket: 'images-nl' })
    expect(location.CommonMsg.Status).toBe(200)
    expect(location.InterfaceResult.Location).toBe('eu-nl')
    const missing = await obs.getObjectMetadata({ Bucket: 'images-eu-de', Key: 'disks/none.zvhd2' })
    expect(missing.CommonMsg.Status).toBe(404)
    obs.close()
  })

  it('reads them virtual-host style too, signed in the OBS form ("OBS AK:sig")', async () => {
    // bucket.obs.sim.test resolves nowhere: an agent that connects every name to the simulator.
    const port = new URL(sim.url).port
    const agent = new http.Agent({
      lookup: (_host, options, callback) =>
        options.all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4),
    })
    const obs = new ObsClient({
      access_key_id: AKSK.ak,
      secret_access_key: AKSK.sk,
      server: `http://obs.sim.test:${port}`,
      max_retry_count: 0,
      is_signature_negotiation: false,
      http_agent: agent,
    })
    await new Promise((resolve) => setImmediate(resolve))
    const meta = await obs.getObjectMetadata({ Bucket: 'images-eu-de', Key: 'disks/warm.zvhd2' })
    expect(meta.CommonMsg.Status).toBe(200)
    expect(meta.InterfaceResult.StorageClass).toBe('WARM')
    const location = await obs.getBucketLocation({ Bucket: 'images-nl' })
    expect(location.InterfaceResult.Location).toBe('eu-nl')
    obs.close()
    agent.destroy()
  })

  it('is refused with 403 SignatureDoesNotMatch for a wrong secret key', async () => {
    const obs = await client('wrong-secret')
    const location = await obs.getBucketLocation({ Bucket: 'images-nl' })
    expect(location.CommonMsg.Status).toBe(403)
    expect(location.CommonMsg.Code).toBe('SignatureDoesNotMatch')
    obs.close()
  })
})

describe('quick-import jobs judging the file through OBS (obsJudging)', () => {
  let sim: RunningSimulator
  let token: string
  beforeAll(async () => {
    sim = await startSimulator({
      obs: SEED,
      obsJudging: true,
      initMs: 0,
      jobDurationMs: { min: 20, max: 20 },
    })
    token = await getToken(sim.url)
  })
  afterAll(() => sim.close())

  const outcome = async (imageUrl: string, extra: Record<string, unknown> = {}) => {
    const res = await fetch(`${sim.url}/v2/cloudimages/quickimport/action`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': token },
      body: JSON.stringify({ ...VALID_SYSTEM_BODY, image_url: imageUrl, ...extra }),
    })
    expect(res.status).toBe(200)
    const { job_id } = (await res.json()) as { job_id: string }
    return eventually(async () => {
      const job = (await (
        await fetch(`${sim.url}/v1/sim-project/jobs/${job_id}`, { headers: { 'x-auth-token': token } })
      ).json()) as { status: string; error_code: string | null }
      return job.status === 'SUCCESS' || job.status === 'FAIL' ? job : undefined
    })
  }

  it.each([
    [
      'a file that is there, in the region, Standard, fitting min_disk',
      'images-eu-de:disks/web01.zvhd2',
      {},
      null,
    ],
    ['a RAW file with its .mf', 'images-eu-de:disks/db01.raw', {}, null],
    ['a missing object', 'images-eu-de:disks/typo.zvhd2', {}, 'IMG.0057'],
    ['a missing bucket', 'no-such-bucket:disks/web01.zvhd2', {}, 'IMG.0057'],
    ['a bucket in another region', 'images-nl:web.zvhd2', {}, 'IMG.0058'],
    ['a file over 1 TB', 'images-eu-de:disks/big.zvhd2', { min_disk: 1024 }, 'IMG.0059'],
    ['a bucket not of the Standard class', 'archive-eu-de:old.zvhd2', {}, 'IMG.0069'],
    ['an object not of the Standard class', 'images-eu-de:disks/warm.zvhd2', {}, 'IMG.0069'],
    ['min_disk below the file size', 'images-eu-de:disks/web01.zvhd2', { min_disk: 10 }, 'IMG.0055'],
    ['a RAW file without its .mf', 'images-eu-de:disks/lonely.raw', {}, 'IMG.1075'],
  ])('%s (%s)', async (_what, imageUrl, extra, code) => {
    const job = await outcome(imageUrl, extra)
    expect(job.status).toBe(code === null ? 'SUCCESS' : 'FAIL')
    expect(job.error_code).toBe(code)
  })

  it('lists the file size as __image_size and stretches the job by size / throughput', async () => {
    sim.control.obs.setJudging({ importBytesPerSecond: 20 * GIB })
    const started = Date.now()
    const job = await outcome('images-eu-de:disks/web01.zvhd2', { name: 'sized' })
    expect(job.status).toBe('SUCCESS')
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
    sim.control.obs.setJudging({ importBytesPerSecond: null })
    const res = await fetch(`${sim.url}/v2/cloudimages?name=sized`, { headers: { 'x-auth-token': token } })
    const [image] = ((await res.json()) as { images: Array<{ __image_size: string }> }).images
    expect(must(image).__image_size).toBe(String(20 * GIB))
  })

  it('judges nothing with obsJudging off (the default): a missing file succeeds, as before', async () => {
    sim.control.obs.setJudging({ obsJudging: false })
    expect((await outcome('images-eu-de:disks/typo.zvhd2')).status).toBe('SUCCESS')
    sim.control.obs.setJudging({ obsJudging: true })
  })
})
