import { type RunningSimulator, startSimulator } from 'ims-simulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createImsClient,
  errorReason,
  type ImsAuth,
  type ImsClient,
  ImsError,
  isImageQuotaError,
} from '../src/index.js'
import { SIM_AKSK, SIM_AKSK_AUTH, SIM_TOKEN_AUTH } from './sim-auth.js'
import { json, startStubServer } from './stub-server.js'

// getImageQuota() and IMG.0015 against the simulator (issue 15 item 3).

const AUTHS: Array<[string, ImsAuth]> = [
  ['token', SIM_TOKEN_AUTH],
  ['aksk', SIM_AKSK_AUTH],
]

const body = (name: string) => ({
  name,
  image_url: 'ims-image:centos70.zvhd2',
  os_version: 'CentOS 7.0 64bit',
  min_disk: 40,
  type: 'ECS',
})

describe.each(AUTHS)('image quota with %s auth', (_label, auth) => {
  let sim: RunningSimulator
  let client: ImsClient
  beforeAll(async () => {
    // iamCatalog 'faithful': the token answer has no catalog for ?nocatalog=true, as IAM's.
    sim = await startSimulator({
      credentials: [SIM_AKSK],
      imageQuota: 2,
      existingImages: 1,
      initMs: 0,
      iamCatalog: 'faithful',
    })
    client = createImsClient({
      imsEndpoint: sim.url,
      iamEndpoint: `${sim.url}/v3`,
      projectId: 'sim-project',
      auth,
    })
  })
  afterAll(async () => {
    await client.close()
    await sim.close()
  })

  it('reads used and quota of the image resource', async () => {
    expect(await client.getImageQuota()).toEqual({ used: 1, quota: 2, min: 1, max: 1000 })
  })

  it('tells IMG.0015 apart: kind permanent, reason quota', async () => {
    await client.quickImport(body('fills-the-quota'))
    expect((await client.getImageQuota()).used).toBe(2)
    const err = await client.quickImport(body('over-the-quota')).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(ImsError)
    expect(err).toMatchObject({ kind: 'permanent', reason: 'quota', code: 'IMG.0015', status: 400 })
    expect(isImageQuotaError(err)).toBe(true)
    expect(sim.control.quota().refusedForQuota).toBe(1)
  })

  it('gives other failures no reason', async () => {
    const err = (await client
      .quickImport({ ...body('bad'), min_disk: 0 })
      .catch((e: unknown) => e)) as ImsError
    expect(err.kind).toBe('permanent')
    expect(err.reason).toBeNull()
    expect(isImageQuotaError(err)).toBe(false)
    expect(isImageQuotaError(new Error('IMG.0015'))).toBe(false)
  })
})

describe('errorReason', () => {
  it('names IMG.0015 quota and nothing else', () => {
    expect(errorReason('IMG.0015')).toBe('quota')
    expect(errorReason('IMG.0088')).toBeNull()
    expect(errorReason('APIG.0308')).toBeNull()
    expect(errorReason(null)).toBeNull()
  })
})

describe('getImageQuota answer shapes', () => {
  it('reads the min/max-less form and refuses an answer without an image resource as transient', async () => {
    const stub = await startStubServer()
    const client = createImsClient({
      imsEndpoint: stub.url,
      iamEndpoint: `${stub.url}/v3`,
      projectId: 'p',
      auth: SIM_AKSK_AUTH,
    })
    try {
      stub.handle((_req, res) =>
        json(res, 200, {
          quotas: {
            resources: [
              { type: 'image_shared', used: 0, quota: 5 },
              { type: 'image', used: 7, quota: 50 },
            ],
          },
        }),
      )
      expect(await client.getImageQuota()).toEqual({ used: 7, quota: 50, min: null, max: null })
      expect(stub.requests.at(-1)?.url).toBe('/v1/cloudimages/quota')
      stub.handle((_req, res) =>
        json(res, 200, { quotas: { resources: [{ type: 'image_member', used: 0, quota: 5 }] } }),
      )
      const err = await client.getImageQuota().catch((e: unknown) => e)
      expect(err).toMatchObject({ kind: 'transient', operation: 'getQuota' })
    } finally {
      await client.close()
      await stub.close()
    }
  })
})
