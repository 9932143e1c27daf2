import type { FastifyInstance } from 'fastify'
import { OS_VERSIONS } from '../data/os-versions.js'
import { imsFailure } from '../error-bodies.js'
import type { Gateway } from '../gateway.js'
import { type ImageStore, imageStatus, type SimImage } from '../image-store.js'
import type { SimulatorSettings } from '../options.js'

export interface ImageRouteDeps {
  settings: SimulatorSettings
  store: ImageStore
  gateway: Gateway
}

const DEFAULT_LIMIT = 500
const MAX_LIMIT = 1000

/** IMS stores whole seconds: `2024-11-06T06:21:08Z`. */
const imsTime = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')
const wholeSeconds = (ms: number) => Math.floor(ms / 1000) * 1000

const VIRTUAL_ENV: Record<string, string> = { ECS: 'FusionCompute', BMS: 'Ironic', DataImage: 'DataImage' }

/** `__platform` values of the official SDK's ImageInfo model, per OS family of the OS list. */
const PLATFORM: Record<string, string> = { openSUSE: 'OpenSUSE', openEuler: 'Other' }
const FAMILY = new Map(OS_VERSIONS.map((v) => [v.osVersion, v.family]))

function platformOf(osVersion: string | null, osType: string): string {
  if (osVersion === null) return osType === 'Windows' ? 'Windows' : 'Other'
  const family = FAMILY.get(osVersion) ?? 'Other'
  return PLATFORM[family] ?? family
}

/** The image attributes of ims-api.md §3 as `GET /v2/cloudimages` lists them. */
export function imageView(image: SimImage, projectId: string, now: number) {
  const { request: r, job } = image
  const view: Record<string, unknown> = {
    id: image.id,
    name: r.name,
    status: imageStatus(job, now),
    tags: r.tags.map((t) => `${t.key}.${t.value}`),
    created_at: imsTime(image.createdAtMs),
    updated_at: imsTime(imageUpdatedAt(image, now)),
    min_disk: r.minDisk,
    min_ram: 0,
    __imagetype: 'private',
    __os_type: r.osType,
    __description: r.description,
    virtual_env_type: VIRTUAL_ENV[r.type] ?? 'FusionCompute',
    disk_format: r.diskFormat,
    container_format: 'bare',
    owner: projectId,
    visibility: 'private',
    protected: false,
    enterprise_project_id: r.enterpriseProjectId,
    hw_firmware_type: r.firmware,
    __architecture: r.architecture === 'arm' ? 'arm' : 'x86_64',
    __lazyloading: 'true',
    __data_origin: `file,${r.bucket}:${r.objectKey}`,
    self: `/v2/images/${image.id}`,
    file: `/v2/images/${image.id}/file`,
    schema: '/v2/schemas/image',
  }
  if (r.osVersion !== null) view.__os_version = r.osVersion
  if (r.licenseType !== undefined) view.__license_type = r.licenseType
  // The attributes the official SDK's ImageInfo model requires (huaweicloud-sdk-nodejs-v3
  // services/ims/v2/model/ImageInfo.ts): a strict client of that model reads them from every entry.
  const active = view.status === 'active'
  view.__image_size = String(image.fileSizeBytes ?? 0)
  view.__image_source_type = 'uds'
  view.__isregistered = 'true'
  view.active_at = active ? imsTime(job.endAt) : ''
  view.__backup_id = ''
  view.__originalimagename = ''
  view.__os_bit = r.osVersion?.includes('32bit') ? '32' : '64'
  view.__platform = platformOf(r.osVersion, r.osType)
  view.virtual_size = 0
  view.__is_offshelved = 'false'
  view.__root_origin = 'file'
  view.__sequence_num = String(image.seq)
  view.__support_agent_list = ''
  return view
}

type Predicate = (image: SimImage, now: number) => boolean

const COMPARATORS: Record<string, (a: number, b: number) => boolean> = {
  gt: (a, b) => a > b,
  gte: (a, b) => a >= b,
  lt: (a, b) => a < b,
  lte: (a, b) => a <= b,
  eq: (a, b) => a === b,
  neq: (a, b) => a !== b,
}

/** `op:time`, e.g. `gt:2024-01-01T00:00:00Z`; null when malformed. */
function timeFilter(value: string): ((ms: number) => boolean) | null {
  const colon = value.indexOf(':')
  const compare = COMPARATORS[value.slice(0, colon)]
  const time = Date.parse(value.slice(colon + 1))
  if (colon < 0 || !compare || Number.isNaN(time)) return null
  return (ms) => compare(wholeSeconds(ms), wholeSeconds(time))
}

function buildFilters(query: URLSearchParams, projectId: string): Predicate[] | null {
  const filters: Predicate[] = []
  for (const tag of query.getAll('tag')) {
    const eq = tag.indexOf('=')
    const key = eq < 0 ? tag : tag.slice(0, eq)
    const value = eq < 0 ? '' : tag.slice(eq + 1)
    filters.push((image) => image.request.tags.some((t) => t.key === key && t.value === value))
  }
  const name = query.get('name')
  if (name !== null) filters.push((image) => image.request.name === name)
  const status = query.get('status')
  if (status !== null) filters.push((image, now) => imageStatus(image.job, now) === status)
  const id = query.get('id')
  if (id !== null) filters.push((image) => image.id === id)
  const owner = query.get('owner')
  if (owner !== null) filters.push(() => owner === projectId)
  const imageType = query.get('__imagetype')
  if (imageType !== null) filters.push(() => imageType === 'private')
  for (const [param, timeOf] of [
    ['created_at', (image: SimImage) => image.createdAtMs],
    ['updated_at', (image: SimImage, now: number) => imageUpdatedAt(image, now)],
  ] as const) {
    const value = query.get(param)
    if (value === null) continue
    const test = timeFilter(value)
    if (!test) return null
    filters.push((image, now) => test(timeOf(image, now)))
  }
  return filters
}

function imageUpdatedAt(image: SimImage, now: number): number {
  const status = imageStatus(image.job, now)
  return status === 'queued' ? image.createdAtMs : status === 'saving' ? image.job.runningAt : image.job.endAt
}

/** created_at descending; IMS keeps whole seconds, creation order breaks ties. */
const newestFirst = (a: SimImage, b: SimImage) =>
  wholeSeconds(b.createdAtMs) - wholeSeconds(a.createdAtMs) || b.seq - a.seq

export function registerImageRoutes(app: FastifyInstance, deps: ImageRouteDeps): void {
  const { settings, store, gateway } = deps
  app.get('/v2/cloudimages', gateway.forOperation('listImages'), async (request, reply) => {
    const url = request.raw.url ?? request.url
    const query = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '')
    const bad = () => {
      const { status, body } = imsFailure('IMG.0001')
      return gateway.respond(request, reply, status, body)
    }
    const filters = buildFilters(query, settings.projectId)
    if (!filters) return bad()
    const limitParam = query.get('limit')
    const limit = limitParam === null ? DEFAULT_LIMIT : Number(limitParam)
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return bad()

    const now = Date.now()
    let sorted = [...store.images()].sort(newestFirst)
    const marker = query.get('marker')
    if (marker !== null) {
      const index = sorted.findIndex((image) => image.id === marker)
      if (index < 0) {
        const { status, body } = imsFailure('IMG.0027')
        return gateway.respond(request, reply, status, body)
      }
      sorted = sorted.slice(index + 1)
    }
    const images: ReturnType<typeof imageView>[] = []
    const listedBefore = now - settings.listingDelayMs
    for (const image of sorted) {
      if (images.length >= limit) break
      if (image.createdAtMs > listedBefore) continue // not listed yet (listingDelayMs)
      if (filters.every((f) => f(image, now))) images.push(imageView(image, settings.projectId, now))
    }
    return gateway.respond(request, reply, 200, { images })
  })
}
