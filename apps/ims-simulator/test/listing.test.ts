import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildSimulator, type RunningSimulator, startSimulator } from '../src/index.js'
import { eventually, getToken, must, passwordAuthBody, VALID_SYSTEM_BODY } from './helpers.js'

interface Image {
  id: string
  name: string
  status: string
  tags: string[]
  created_at: string
  [k: string]: unknown
}

describe('GET /v2/cloudimages', () => {
  let sim: RunningSimulator
  let token: string
  const created: Array<{ name: string; jobId: string }> = []

  const list = async (query: string) => {
    const res = await fetch(`${sim.url}/v2/cloudimages${query}`, { headers: { 'x-auth-token': token } })
    return { status: res.status, body: (await res.json()) as { images: Image[]; error?: { code: string } } }
  }

  beforeAll(async () => {
    sim = await startSimulator({ initMs: 0, jobDurationMs: { min: 30, max: 30 } })
    token = await getToken(sim.url)
    const bodies = [
      { ...VALID_SYSTEM_BODY, name: 'alpha', image_tags: [{ key: 'ims_importer_id', value: 'imp-a' }] },
      { ...VALID_SYSTEM_BODY, name: 'beta', tags: ['ims_importer_id.imp-b', 'team.blue'] },
      {
        ...VALID_SYSTEM_BODY,
        name: 'gamma',
        image_url: 'ims-image:fail-img-0057.zvhd2',
        tags: ['team.blue'],
      },
      { ...VALID_SYSTEM_BODY, name: 'delta' },
      { ...VALID_SYSTEM_BODY, name: 'epsilon' },
    ]
    for (const body of bodies) {
      const res = await fetch(`${sim.url}/v2/cloudimages/quickimport/action`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-auth-token': token },
        body: JSON.stringify(body),
      })
      created.push({ name: body.name, jobId: ((await res.json()) as { job_id: string }).job_id })
    }
    await eventually(async () =>
      sim.control.jobs().every((j) => j.status === 'SUCCESS' || j.status === 'FAIL') ? true : undefined,
    )
  })
  afterAll(() => sim.close())

  it('lists every image newest first with the documented attributes', async () => {
    const { status, body } = await list('')
    expect(status).toBe(200)
    expect(body.images.map((i) => i.name)).toEqual(['epsilon', 'delta', 'gamma', 'beta', 'alpha'])
    const beta = must(body.images.find((i) => i.name === 'beta'))
    expect(beta).toMatchObject({
      status: 'active',
      tags: ['ims_importer_id.imp-b', 'team.blue'],
      min_disk: 40,
      __os_version: 'CentOS 7.0 64bit',
      __imagetype: 'private',
      virtual_env_type: 'FusionCompute',
      disk_format: 'zvhd2',
      owner: 'sim-project',
    })
    expect(beta.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(beta.updated_at).toMatch(/Z$/)
  })

  it("carries the attributes the official SDK's ImageInfo model requires", async () => {
    // huaweicloud-sdk-nodejs-v3 services/ims/v2/model/ImageInfo.ts: its non-optional attributes.
    const required = [
      '__backup_id',
      '__data_origin',
      '__description',
      '__image_size',
      '__image_source_type',
      '__imagetype',
      '__isregistered',
      '__originalimagename',
      '__os_bit',
      '__os_type',
      '__os_version',
      '__platform',
      'container_format',
      'created_at',
      'enterprise_project_id',
      'id',
      'min_disk',
      'min_ram',
      'name',
      'owner',
      'protected',
      'self',
      'status',
      'tags',
      'updated_at',
      'virtual_env_type',
      'virtual_size',
      'visibility',
      '__is_offshelved',
      '__lazyloading',
      '__root_origin',
      '__sequence_num',
      'active_at',
      '__support_agent_list',
    ]
    const { body } = await list('')
    for (const image of body.images) {
      for (const key of required) expect(image, `${image.name}.${key}`).toHaveProperty(key)
    }
    const beta = must(body.images.find((i) => i.name === 'beta'))
    expect(beta).toMatchObject({
      __image_source_type: 'uds',
      __isregistered: 'true',
      __image_size: '0',
      __platform: 'CentOS',
      __os_bit: '64',
    })
    expect(beta.active_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    const gamma = must(body.images.find((i) => i.name === 'gamma'))
    expect(gamma.status).toBe('killed')
    expect(gamma.active_at).toBe('')
  })

  it('filters by marker tag, in image_tags or tags form', async () => {
    expect((await list('?tag=ims_importer_id=imp-a')).body.images.map((i) => i.name)).toEqual(['alpha'])
    expect((await list('?tag=ims_importer_id%3Dimp-b')).body.images.map((i) => i.name)).toEqual(['beta'])
    expect((await list('?tag=team=blue')).body.images.map((i) => i.name)).toEqual(['gamma', 'beta'])
    expect((await list('?tag=ims_importer_id=nope')).body.images).toEqual([])
  })

  it('filters by exact name, status, id and image type', async () => {
    expect((await list('?name=delta')).body.images).toHaveLength(1)
    expect((await list('?name=delt')).body.images).toHaveLength(0)
    expect((await list('?status=killed')).body.images.map((i) => i.name)).toEqual(['gamma'])
    expect((await list('?status=active')).body.images).toHaveLength(4)
    const { images } = (await list('?name=alpha')).body
    expect((await list(`?id=${must(images[0]).id}`)).body.images.map((i) => i.name)).toEqual(['alpha'])
    expect((await list('?__imagetype=private')).body.images).toHaveLength(5)
    expect((await list('?__imagetype=gold')).body.images).toHaveLength(0)
    expect((await list('?name=beta&tag=team=blue&status=active')).body.images).toHaveLength(1)
  })

  it('filters by created_at with gt, gte, lt, lte, eq and neq', async () => {
    const all = (await list('')).body.images
    const past = '2020-01-01T00:00:00Z'
    const future = '2999-01-01T00:00:00Z'
    expect((await list(`?created_at=gt:${past}`)).body.images).toHaveLength(5)
    expect((await list(`?created_at=lt:${past}`)).body.images).toHaveLength(0)
    expect((await list(`?created_at=lte:${future}`)).body.images).toHaveLength(5)
    expect((await list(`?created_at=gte:${future}`)).body.images).toHaveLength(0)
    const alpha = must(all.find((i) => i.name === 'alpha'))
    const sameSecond = all.filter((i) => i.created_at === alpha.created_at).length
    expect((await list(`?created_at=eq:${alpha.created_at}`)).body.images).toHaveLength(sameSecond)
    expect((await list(`?created_at=neq:${alpha.created_at}`)).body.images).toHaveLength(5 - sameSecond)
    expect((await list(`?created_at=gte:${alpha.created_at}&name=alpha`)).body.images).toHaveLength(1)
    expect((await list(`?created_at=gt:${alpha.created_at}&name=alpha`)).body.images).toHaveLength(0)
    expect((await list('?created_at=after:yesterday')).status).toBe(400)
  })

  it('pages with limit and marker (the last id seen)', async () => {
    const names: string[] = []
    let marker: string | undefined
    for (let page = 0; page < 5; page++) {
      const { body } = await list(`?limit=2${marker ? `&marker=${marker}` : ''}`)
      if (body.images.length === 0) break
      expect(body.images.length).toBeLessThanOrEqual(2)
      names.push(...body.images.map((i) => i.name))
      marker = must(body.images.at(-1)).id
    }
    expect(names).toEqual(['epsilon', 'delta', 'gamma', 'beta', 'alpha'])
    expect((await list('?limit=0')).status).toBe(400)
    expect((await list('?marker=00000000-0000-4000-8000-000000000000')).status).toBe(400)
  })

  it('defaults the page size to 500', async () => {
    const { app } = buildSimulator({ initMs: 0, jobDurationMs: { min: 0, max: 0 } })
    try {
      const auth = await app.inject({ method: 'POST', url: '/v3/auth/tokens', payload: passwordAuthBody() })
      const headers = { 'x-auth-token': String(auth.headers['x-subject-token']) }
      for (let i = 0; i < 501; i++) {
        const res = await app.inject({
          method: 'POST',
          url: '/v2/cloudimages/quickimport/action',
          headers: { ...headers, 'content-type': 'application/json' },
          payload: JSON.stringify(VALID_SYSTEM_BODY),
        })
        expect(res.statusCode).toBe(200)
      }
      const res = await app.inject({ url: '/v2/cloudimages', headers })
      expect(res.json().images).toHaveLength(500)
      const rest = await app.inject({ url: `/v2/cloudimages?marker=${res.json().images[499].id}`, headers })
      expect(rest.json().images).toHaveLength(1)
    } finally {
      await app.close()
    }
  })

  it('holds a new image back from listings for listingDelayMs (set at start or through setSpeed)', async () => {
    const delayed = await startSimulator({
      initMs: 0,
      jobDurationMs: { min: 30, max: 30 },
      listingDelayMs: 400,
    })
    try {
      const auth = { 'x-auth-token': await getToken(delayed.url) }
      // Returns when the POST was sent: the simulator made the image after that, so an image
      // held back listingDelayMs from its creation is listed at least that long after it.
      const post = async (marker: string) => {
        const sentAt = Date.now()
        const res = await fetch(`${delayed.url}/v2/cloudimages/quickimport/action`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...auth },
          body: JSON.stringify({
            ...VALID_SYSTEM_BODY,
            image_tags: [{ key: 'ims_importer_id', value: marker }],
          }),
        })
        expect(res.status).toBe(200)
        return sentAt
      }
      const byMarker = async (marker: string) => {
        const res = await fetch(`${delayed.url}/v2/cloudimages?tag=ims_importer_id=${marker}`, {
          headers: auth,
        })
        return ((await res.json()) as { images: Image[] }).images
      }
      const postedAt = await post('imp-late')
      // The job exists at once; its image is not listed yet.
      expect(delayed.control.jobs().filter((j) => j.marker === 'imp-late')).toHaveLength(1)
      expect(await byMarker('imp-late')).toEqual([])
      const seen = await eventually(async () =>
        (await byMarker('imp-late')).length === 1 ? Date.now() : undefined,
      )
      expect(seen - postedAt).toBeGreaterThanOrEqual(400)
      delayed.control.setSpeed({ listingDelayMs: 0 })
      await post('imp-now')
      expect(await byMarker('imp-now')).toHaveLength(1)
    } finally {
      await delayed.close()
    }
  })
})
