import { OS_VERSIONS } from './data/os-versions.js'

/**
 * IMS's checks on a quick-import body, written from the API page "Importing an Image File Quickly"
 * and the image-attribute rules (ims-api.md §3), independently of the service's own schema so that
 * a test comparing the two can catch a rule either side got wrong. The first failing rule wins,
 * in the order of the page's parameter table.
 */

export type ImageVariant = 'system' | 'data'

export interface QuickImportTag {
  key: string
  value: string
}

export interface AcceptedQuickImport {
  variant: ImageVariant
  name: string
  description: string
  /** ECS, BMS or DataImage. */
  type: string
  osVersion: string | null
  osType: string
  bucket: string
  objectKey: string
  diskFormat: 'zvhd2' | 'raw'
  minDisk: number
  /** Distinct keys, the last value given for a key wins. */
  tags: QuickImportTag[]
  enterpriseProjectId: string
  architecture: 'x86' | 'arm'
  firmware: 'bios' | 'uefi'
  /** HWC only: 'platform' or 'byol' when given. */
  licenseType?: 'platform' | 'byol'
}

/** Which cloud's API page the body is judged by: OTC's (default) or Huawei Cloud's, which adds `license_type`. */
export type Cloud = 'otc' | 'hwc'

export interface ValidationOptions {
  /** Default 'otc'. */
  cloud?: Cloud
}

export type ValidationResult = { ok: true; value: AcceptedQuickImport } | { ok: false; code: string }

const SYSTEM_FIELDS = new Set([
  'name',
  'description',
  'os_version',
  'image_url',
  'min_disk',
  'tags',
  'image_tags',
  'type',
  'enterprise_project_id',
  'architecture',
  'hw_firmware_type',
])
const DATA_FIELDS = new Set([
  'name',
  'description',
  'os_type',
  'image_url',
  'min_disk',
  'tags',
  'image_tags',
  'type',
  'enterprise_project_id',
])

const OS_VERSION_SET = new Set(OS_VERSIONS.map((o) => o.osVersion))
const NAME_CHARS = /^[A-Za-z0-9._ -]+$/
const TAG_CHARS = /^[A-Za-z0-9_-]*$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const MAX_TAGS = 10
const TAG_KEY_MAX = 36
const TAG_VALUE_MAX = 43

class Rejected extends Error {
  constructor(readonly code: string) {
    super(code)
  }
}

const reject = (code: string): never => {
  throw new Rejected(code)
}

/** Parses and validates the exact request bytes as IMS would. */
export function validateQuickImportBytes(
  raw: Buffer | undefined,
  options: ValidationOptions = {},
): ValidationResult {
  const text = raw === undefined ? '' : raw.toString('utf8')
  if (text.trim() === '') return { ok: false, code: 'IMG.0007' }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return { ok: false, code: 'IMG.0001' }
  }
  return validateQuickImport(parsed, options)
}

export function validateQuickImport(body: unknown, options: ValidationOptions = {}): ValidationResult {
  try {
    return { ok: true, value: check(body, options.cloud ?? 'otc') }
  } catch (err) {
    if (err instanceof Rejected) return { ok: false, code: err.code }
    throw err
  }
}

/**
 * HWC's page adds `license_type` to the system-image body: "platform" or "byol", for Windows
 * images (ims-api.md §3). The data-image table does not list it. A value outside the two answers
 * IMG.0001 (no code is documented); on a Linux image it is accepted and has no effect.
 */
const HWC_SYSTEM_FIELDS = new Set([...SYSTEM_FIELDS, 'license_type'])

function check(body: unknown, cloud: Cloud): AcceptedQuickImport {
  if (!isRecord(body)) return reject('IMG.0001')
  if (Object.keys(body).length === 0) reject('IMG.0007')

  const type = body.type === undefined ? 'ECS' : body.type
  if (type !== 'ECS' && type !== 'BMS' && type !== 'DataImage') reject('IMG.0024')
  const variant: ImageVariant = type === 'DataImage' ? 'data' : 'system'

  const allowed = variant === 'data' ? DATA_FIELDS : cloud === 'hwc' ? HWC_SYSTEM_FIELDS : SYSTEM_FIELDS
  for (const field of Object.keys(body)) if (!allowed.has(field)) reject('IMG.0001')

  const name = checkName(body.name)
  const description = checkDescription(body.description)

  let osVersion: string | null = null
  let osType = 'Linux'
  if (variant === 'system') {
    if (typeof body.os_version !== 'string' || !OS_VERSION_SET.has(body.os_version)) reject('IMG.0056')
    osVersion = body.os_version as string
    osType = /^Windows/.test(osVersion) ? 'Windows' : 'Linux'
  } else if (body.os_type !== undefined) {
    if (body.os_type !== 'Linux' && body.os_type !== 'Windows') reject('IMG.0122')
    osType = body.os_type as string
  }

  const { bucket, objectKey, diskFormat } = checkImageUrl(body.image_url)
  const minDisk = checkMinDisk(body.min_disk)
  const tags = checkTags(body.tags, body.image_tags)

  let enterpriseProjectId = '0'
  if (body.enterprise_project_id !== undefined) {
    const eps = body.enterprise_project_id
    if (typeof eps !== 'string' || !(eps === '' || eps === '0' || UUID.test(eps))) reject('IMG.0001')
    enterpriseProjectId = eps === '' ? '0' : (eps as string)
  }

  let architecture: 'x86' | 'arm' = 'x86'
  if (body.architecture !== undefined) {
    if (body.architecture !== 'x86' && body.architecture !== 'arm') reject('IMG.0212')
    architecture = body.architecture as 'x86' | 'arm'
  }

  // arm boots UEFI only: IMS switches it on its own, and rejects an explicit bios.
  let firmware: 'bios' | 'uefi' = architecture === 'arm' ? 'uefi' : 'bios'
  if (body.hw_firmware_type !== undefined) {
    if (body.hw_firmware_type !== 'bios' && body.hw_firmware_type !== 'uefi') reject('IMG.0141')
    if (architecture === 'arm' && body.hw_firmware_type === 'bios') reject('IMG.0141')
    firmware = body.hw_firmware_type as 'bios' | 'uefi'
  }

  let licenseType: 'platform' | 'byol' | undefined
  if (body.license_type !== undefined) {
    if (body.license_type !== 'platform' && body.license_type !== 'byol') reject('IMG.0001')
    licenseType = body.license_type as 'platform' | 'byol'
  }

  return {
    ...(licenseType === undefined ? {} : { licenseType }),
    variant,
    name,
    description,
    type: type as string,
    osVersion,
    osType,
    bucket,
    objectKey,
    diskFormat,
    minDisk,
    tags,
    enterpriseProjectId,
    architecture,
    firmware,
  }
}

function checkName(name: unknown): string {
  if (name === undefined || name === null || name === '') return reject('IMG.0013')
  if (typeof name !== 'string') return reject('IMG.0003')
  if (name.length > 128) reject('IMG.0002')
  if (!NAME_CHARS.test(name) || name !== name.trim()) reject('IMG.0003')
  return name
}

function checkDescription(description: unknown): string {
  if (description === undefined) return ''
  if (typeof description !== 'string') return reject('IMG.0054')
  if (description.length > 1024) reject('IMG.0004')
  if (/[\r\n<>]/.test(description)) reject('IMG.0054')
  return description
}

/** OBS bucket names: 3-63 of a-z 0-9 - ., starting and ending alphanumeric, no "..", ".-", "-.", not an IP. */
function isBucketName(bucket: string): boolean {
  if (bucket.length < 3 || bucket.length > 63) return false
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(bucket)) return false
  if (/\.\.|\.-|-\./.test(bucket)) return false
  return !/^\d{1,3}(\.\d{1,3}){3}$/.test(bucket)
}

/**
 * Quick import takes RAW or ZVHD2 only. IMS cannot tell a RAW file by its name (it may be `.img`
 * or have no extension), so only the extensions of the other formats are refused: other disk
 * formats, and archives, which are no disk format at all.
 */
const UNSUPPORTED_EXTENSIONS = new Set([
  'qcow2',
  'qcow',
  'vmdk',
  'vhd',
  'vhdx',
  'zvhd',
  'qed',
  'vdi',
  'iso',
  'ova',
  'ovf',
  'mf',
  'zip',
  'gz',
  'tgz',
  'tar',
  'xz',
  'bz2',
  '7z',
])
const FILE_NAME_CHARS = /^[A-Za-z0-9._-]+$/

function checkImageUrl(url: unknown): { bucket: string; objectKey: string; diskFormat: 'zvhd2' | 'raw' } {
  if (url === undefined || url === null || url === '') return reject('IMG.0068')
  if (typeof url !== 'string') return reject('IMG.0017')
  const colon = url.indexOf(':')
  if (colon < 0) return reject('IMG.0068')
  const bucket = url.slice(0, colon)
  const objectKey = url.slice(colon + 1)
  if (bucket === '') reject('IMG.0068')
  if (!isBucketName(bucket)) reject('IMG.0109')
  if (objectKey === '') reject('IMG.0057')
  if (/\s/.test(objectKey)) reject('IMG.0175')
  // "bucket:/key" or "obs://bucket/key": not the bucket:objectKey form.
  if (objectKey.startsWith('/') || objectKey.includes('//')) reject('IMG.0017')
  const fileName = objectKey.slice(objectKey.lastIndexOf('/') + 1)
  if (fileName === '' || !FILE_NAME_CHARS.test(fileName)) reject('IMG.0075')
  const ext = fileName.includes('.') ? fileName.slice(fileName.lastIndexOf('.') + 1).toLowerCase() : ''
  if (UNSUPPORTED_EXTENSIONS.has(ext)) reject('IMG.0072')
  return { bucket, objectKey, diskFormat: ext === 'zvhd2' ? 'zvhd2' : 'raw' }
}

function checkMinDisk(minDisk: unknown): number {
  if (typeof minDisk !== 'number' || !Number.isInteger(minDisk) || minDisk < 1 || minDisk > 1024) {
    return reject('IMG.0055')
  }
  return minDisk
}

function checkTag(key: string, value: string): QuickImportTag {
  if (key === '' || key.length > TAG_KEY_MAX || value.length > TAG_VALUE_MAX) reject('IMG.0115')
  if (!TAG_CHARS.test(key) || !TAG_CHARS.test(value)) reject('IMG.0115')
  return { key, value }
}

function checkTags(tags: unknown, imageTags: unknown): QuickImportTag[] {
  if (tags !== undefined && imageTags !== undefined) reject('IMG.0115')
  const entries: QuickImportTag[] = []
  if (tags !== undefined) {
    if (!Array.isArray(tags)) return reject('IMG.0115')
    for (const tag of tags) {
      if (typeof tag !== 'string') reject('IMG.0115')
      const dot = (tag as string).indexOf('.')
      if (dot < 0) reject('IMG.0115')
      entries.push(checkTag((tag as string).slice(0, dot), (tag as string).slice(dot + 1)))
    }
  }
  if (imageTags !== undefined) {
    if (!Array.isArray(imageTags)) return reject('IMG.0115')
    for (const tag of imageTags) {
      if (!isRecord(tag) || typeof tag.key !== 'string' || typeof tag.value !== 'string') reject('IMG.0115')
      const { key, value, ...rest } = tag as Record<string, unknown>
      if (Object.keys(rest).length > 0) reject('IMG.0115')
      // IMS trims image_tags keys and values before checking them.
      entries.push(checkTag((key as string).trim(), (value as string).trim()))
    }
  }
  // An existing key is updated, so the image holds one tag per distinct key.
  const byKey = new Map<string, string>()
  for (const { key, value } of entries) byKey.set(key, value)
  if (byKey.size > MAX_TAGS) reject('IMG.0116')
  return [...byKey].map(([key, value]) => ({ key, value }))
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
