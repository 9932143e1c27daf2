import { z } from 'zod'
import {
  Architecture,
  DataDiskType,
  Description,
  EnterpriseProjectId,
  FirmwareType,
  ImageUrl,
  LicenseType,
  MinDisk,
  Name,
  OsType,
  OsVersion,
  SystemDiskType,
} from './fields.js'
import { PAGE_EXAMPLES } from './page-examples.js'
import { levenshtein } from './similarity.js'
import { ImageTags, Tags } from './tags.js'
import { quote } from './text.js'

/**
 * The body of IMS `POST /v2/cloudimages/quickimport/action`, as IMS judges it: two variants
 * told apart by `type`. No defaults are filled in and nothing is transformed, so a parsed body
 * is the body as given (IMS applies its own defaults), and the schema stays plain enough for
 * fastify-type-provider-zod and for OpenAPI generation.
 */

type Variant = 'system' | 'data'

/**
 * Which cloud's quick-import page a body is judged by: Open Telekom Cloud's (the default) or Huawei
 * Cloud's, whose system-image body also takes `license_type` (ims-api.md §3).
 */
export type Cloud = 'otc' | 'hwc'

const DATA_DISK = 'a data disk image (type "DataImage")'

/** Why a body field is refused, in words that point to the fix. */
export function unknownFieldMessage(variant: Variant, field: string, cloud: Cloud = 'otc'): string {
  if (field === 'license_type' && (variant === 'data' || cloud === 'otc')) {
    return variant === 'data'
      ? `license_type is not accepted for ${DATA_DISK}: the Huawei Cloud API lists it for system disk images only`
      : 'license_type is a Huawei Cloud field: Open Telekom Cloud does not take it (leave it out, or send to a target with cloud "hwc")'
  }
  if (variant === 'system' && field === 'os_type') {
    return `os_type is only for ${DATA_DISK}; a system disk image takes os_version instead`
  }
  if (variant === 'data' && field === 'os_version') {
    return `os_version is only for system disk images; ${DATA_DISK} takes os_type ("Linux" or "Windows") instead`
  }
  if (variant === 'data' && (field === 'architecture' || field === 'hw_firmware_type')) {
    return `${field} is not accepted for ${DATA_DISK}: the IMS API lists it for system disk images only`
  }
  const fields = variant === 'system' ? SYSTEM_FIELDS : DATA_FIELDS
  const fold = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '')
  const closest =
    field.length > 40
      ? undefined
      : fields.find((f) => levenshtein(fold(f), fold(field)) <= Math.min(2, f.length / 4))
  const hint = closest === undefined ? '' : `; did you mean "${closest}"?`
  return `unknown field ${quote(field)}: quick import does not take it${hint}`
}

const unknownFieldsError =
  (variant: Variant, cloud: Cloud = 'otc') =>
  (iss: { code: string; keys?: string[] }) =>
    iss.code === 'unrecognized_keys' && iss.keys !== undefined
      ? iss.keys.map((k) => unknownFieldMessage(variant, k, cloud)).join('; ')
      : undefined

type Fields = Record<string, unknown>

const isObject = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

// Rules across fields. They run even when a field is invalid, so that every issue is reported.

function tagFormsCheck(body: unknown, ctx: z.RefinementCtx<unknown>): void {
  if (!isObject(body)) return
  if (body.tags !== undefined && body.image_tags !== undefined) {
    ctx.addIssue({
      code: 'custom',
      message: 'send either tags or image_tags, not both',
      path: ['image_tags'],
      params: { ims_code: 'IMG.0115' },
      input: body.image_tags,
    })
  }
}

function firmwareCheck(body: unknown, ctx: z.RefinementCtx<unknown>): void {
  if (!isObject(body)) return
  if (body.architecture === 'arm' && body.hw_firmware_type === 'bios') {
    ctx.addIssue({
      code: 'custom',
      message:
        'hw_firmware_type "bios" does not go with architecture "arm": arm images always boot with UEFI; send "uefi" or leave hw_firmware_type out',
      path: ['hw_firmware_type'],
      input: body.hw_firmware_type,
    })
  }
}

const always = { when: () => true }

const SYSTEM_SHAPE = {
  name: Name,
  description: Description.optional(),
  os_version: OsVersion,
  image_url: ImageUrl,
  min_disk: MinDisk,
  tags: Tags.optional(),
  image_tags: ImageTags.optional(),
  type: SystemDiskType.optional(),
  enterprise_project_id: EnterpriseProjectId.optional(),
  architecture: Architecture.optional(),
  hw_firmware_type: FirmwareType.optional(),
}

const DATA_SHAPE = {
  name: Name,
  description: Description.optional(),
  os_type: OsType.optional(),
  image_url: ImageUrl,
  min_disk: MinDisk,
  tags: Tags.optional(),
  image_tags: ImageTags.optional(),
  type: DataDiskType,
  enterprise_project_id: EnterpriseProjectId.optional(),
}

/** Each variant's fields in the order of the IMS page (the first close one is the hint). */
const SYSTEM_FIELDS = Object.keys(SYSTEM_SHAPE)
const DATA_FIELDS = Object.keys(DATA_SHAPE)
/** Every field either variant takes. */
export const KNOWN_FIELDS: ReadonlySet<string> = new Set<string>([...SYSTEM_FIELDS, ...DATA_FIELDS])
/** Every field either variant takes on Huawei Cloud. */
export const HWC_KNOWN_FIELDS: ReadonlySet<string> = new Set<string>([...KNOWN_FIELDS, 'license_type'])

/** The system disk image of `cloud`: `shape` is SYSTEM_SHAPE and what that cloud adds to it. */
const systemDiskImport = <S extends typeof SYSTEM_SHAPE>(
  shape: S,
  cloud: Cloud,
  meta: { title: string; description: string },
) =>
  z
    .strictObject(shape, { error: unknownFieldsError('system', cloud) })
    .superRefine(tagFormsCheck, always)
    .superRefine(firmwareCheck, always)
    .meta({ ...meta, example: PAGE_EXAMPLES.systemWithTags })

export const SystemDiskImport = systemDiskImport(SYSTEM_SHAPE, 'otc', {
  title: 'System disk image',
  description:
    'Quick import of a system disk image: type "ECS" (the default when absent) or "BMS"; os_version is required.',
})
export type SystemDiskImport = z.infer<typeof SystemDiskImport>

export const DataDiskImport = z
  .strictObject(DATA_SHAPE, { error: unknownFieldsError('data') })
  .superRefine(tagFormsCheck, always)
  .meta({
    title: 'Data disk image',
    description:
      'Quick import of a data disk image: type "DataImage"; os_type "Linux" (the default) or "Windows".',
    example: PAGE_EXAMPLES.dataWithImageTags,
  })
export type DataDiskImport = z.infer<typeof DataDiskImport>

const TYPE_MESSAGE =
  'type must be "ECS" or "BMS" for a system disk image (ECS when absent) or "DataImage" for a data disk image'

const typeError = (iss: { code: string; input?: unknown }) => {
  if (iss.code !== 'invalid_union') return undefined
  const type = isObject(iss.input) ? iss.input.type : undefined
  const sameButCase = ['ECS', 'BMS', 'DataImage'].find(
    (t) => typeof type === 'string' && t.toLowerCase() === type.toLowerCase(),
  )
  const hint = sameButCase === undefined ? '' : ` (values are case-sensitive: did you mean "${sameButCase}"?)`
  return `${TYPE_MESSAGE}; got ${quote(type)}${hint}`
}

/** A cloud's quick-import body: its `system` disk image or a data disk image, told apart by `type`. */
const quickImportRequest = <S extends typeof SystemDiskImport>(
  system: S,
  meta: { title: string; description: string },
) => z.discriminatedUnion('type', [system, DataDiskImport], { error: typeError }).meta(meta)

/**
 * A quick-import request body: a system disk image (type ECS or BMS, or no type) or a data
 * disk image (type DataImage). The schema and the type share the name.
 */
export const QuickImportRequest = quickImportRequest(SystemDiskImport, {
  title: 'IMS quick-import request',
  description:
    'The body of IMS POST /v2/cloudimages/quickimport/action, sent to IMS as given (the service adds only its marker tag).',
})
export type QuickImportRequest = z.infer<typeof QuickImportRequest>

/**
 * A system disk image as Huawei Cloud's page has it: OTC's fields plus `license_type` ("platform"
 * or "byol"; the page says it applies to Windows images, so on another OS it is accepted and has
 * no effect, as the simulator does).
 */
export const HwcSystemDiskImport = systemDiskImport(
  { ...SYSTEM_SHAPE, license_type: LicenseType.optional() },
  'hwc',
  {
    title: 'System disk image (Huawei Cloud)',
    description:
      'Quick import of a system disk image on Huawei Cloud: the OTC fields plus license_type (platform or byol, for Windows images).',
  },
)
export type HwcSystemDiskImport = z.infer<typeof HwcSystemDiskImport>

/** The quick-import body as Huawei Cloud judges it (`cloud: 'hwc'`); data disk images as on OTC. */
export const HwcQuickImportRequest = quickImportRequest(HwcSystemDiskImport, {
  title: 'IMS quick-import request (Huawei Cloud)',
  description:
    'The body of IMS POST /v2/cloudimages/quickimport/action on Huawei Cloud, sent to IMS as given (the service adds only its marker tag).',
})
export type HwcQuickImportRequest = z.infer<typeof HwcQuickImportRequest>

/** The fields both variants share, to judge them when `type` names neither variant. */
export const CommonFields = z
  .looseObject({
    name: Name,
    description: Description.optional(),
    image_url: ImageUrl,
    min_disk: MinDisk,
    tags: Tags.optional(),
    image_tags: ImageTags.optional(),
    enterprise_project_id: EnterpriseProjectId.optional(),
  })
  .superRefine(tagFormsCheck, always)
