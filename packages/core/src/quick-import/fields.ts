import { z } from 'zod'
import { imageUrlProblems } from './image-url.js'
import { OS_VERSIONS, suggestOsVersions } from './os-versions.js'
import { describeType, listChars, quote } from './text.js'

/** Field schemas of the quick-import body, one rule set each, as the IMS API page states them. */

type Issue = { code: string; input?: unknown }

/** The message for a missing field or one of the wrong JSON type; other issues keep their own. */
const typeError =
  (field: string, expected: string, whenMissing = `${field} is required`) =>
  (iss: Issue) => {
    if (iss.code !== 'invalid_type') return undefined
    return iss.input === undefined
      ? whenMissing
      : `${field} must be ${expected}, not ${describeType(iss.input)}`
  }

const length = (input: unknown) => (typeof input === 'string' ? input.length : 0)

const NAME_MAX = 128
const NAME_CHAR = /[A-Za-z0-9._ -]/

export const Name = z
  .string({ error: typeError('name', 'a string', 'name is required: the name of the image to create') })
  .min(1, { error: 'name must not be empty' })
  .max(NAME_MAX, {
    error: (iss) => `name is ${length(iss.input)} characters long; at most ${NAME_MAX} are allowed`,
  })
  .regex(/^[A-Za-z0-9._ -]*$/, {
    error: (iss) =>
      `name contains ${listChars([...String(iss.input)].filter((c) => !NAME_CHAR.test(c)))}; it may contain only letters, digits, "-", ".", "_" and spaces`,
  })
  .regex(/^(?! )(?![\s\S]* $)/, { error: 'name must not start or end with a space' })
  .meta({
    description: `Image name: 1 to ${NAME_MAX} letters, digits, "-", ".", "_" and spaces, not starting or ending with a space.`,
    example: 'ims_test_file',
  })

const DESCRIPTION_MAX = 1024

export const Description = z
  .string({ error: typeError('description', 'a string') })
  .max(DESCRIPTION_MAX, {
    error: (iss) =>
      `description is ${length(iss.input)} characters long; at most ${DESCRIPTION_MAX} are allowed`,
  })
  .regex(/^[^\r\n]*$/, {
    error: 'description must be a single line: carriage returns and line feeds are not allowed',
  })
  .regex(/^[^<>]*$/, { error: 'description must not contain "<" or ">"' })
  .meta({
    description: `Supplementary information: at most ${DESCRIPTION_MAX} characters, one line, no "<" or ">".`,
    example: 'Create an image using a file in the OBS bucket.',
  })

const osVersionError = (iss: Issue) => {
  if (iss.input === undefined) {
    return 'os_version is required for a system disk image: one of the OS versions IMS documents, for example "CentOS 7.0 64bit"'
  }
  if (typeof iss.input !== 'string') return `os_version must be a string, not ${describeType(iss.input)}`
  const closest = suggestOsVersions(iss.input)
  const hint =
    closest.length > 0
      ? `closest: ${closest.map((v) => JSON.stringify(v)).join(', ')}`
      : 'see "Values of Related Parameters" in the IMS API reference for the list'
  return `os_version ${quote(iss.input)} is not one of the OS versions IMS documents (compared exactly, case and spaces included); ${hint}`
}

export const OsVersion = z
  .enum(OS_VERSIONS as readonly [string, ...string[]], { error: osVersionError })
  .meta({
    description:
      'OS of the image file, one of the values IMS documents in "Values of Related Parameters" (compared exactly).',
    example: 'CentOS 7.0 64bit',
  })

export const ImageUrl = z
  .string({
    error: typeError(
      'image_url',
      'a string',
      'image_url is required: the image file in OBS as "bucket:file", for example "ims-image:centos70.zvhd2"',
    ),
  })
  .superRefine((url, ctx) => {
    for (const p of imageUrlProblems(url)) {
      ctx.addIssue({ code: 'custom', message: p.message, params: { ims_code: p.ims_code }, input: url })
    }
  })
  .meta({
    description:
      'The image file in OBS as "bucket:file" (a Standard bucket in the same region). Quick import takes RAW or ZVHD2 files of at most 1 TB.',
    example: 'ims-image:centos70.zvhd2',
  })

const MIN_DISK_MAX = 1024

const minDiskError = (iss: Issue & { expected?: string }) => {
  if (iss.code === 'invalid_type') {
    if (iss.input === undefined) {
      return `min_disk is required: the minimum disk size in GB, 1 to ${MIN_DISK_MAX}, larger than the disk inside the image file`
    }
    if (typeof iss.input === 'number') return `min_disk must be a whole number of GB; got ${iss.input}`
    if (typeof iss.input === 'string') {
      return `min_disk must be a JSON number, not a string (send 40, not "40"); got ${quote(iss.input)}`
    }
    return `min_disk must be a number, not ${describeType(iss.input)}`
  }
  return `min_disk must be between 1 and ${MIN_DISK_MAX} GB; got ${String(iss.input)}`
}

export const MinDisk = z
  .number({ error: minDiskError })
  .int()
  .min(1)
  .max(MIN_DISK_MAX)
  .meta({
    description: `Minimum disk size in GB, 1 to ${MIN_DISK_MAX}; it must be larger than the disk inside the image file.`,
    example: 40,
  })

const enumError = (field: string, values: readonly string[]) => (iss: Issue) => {
  const allowed = values.map((v) => JSON.stringify(v)).join(' or ')
  if (typeof iss.input !== 'string') return `${field} must be ${allowed}, not ${describeType(iss.input)}`
  const sameButCase = values.find((v) => v.toLowerCase() === String(iss.input).toLowerCase())
  const hint = sameButCase === undefined ? '' : ` (values are case-sensitive: did you mean "${sameButCase}"?)`
  return `${field} must be ${allowed}; got ${quote(iss.input)}${hint}`
}

const enumOf = <const T extends readonly [string, ...string[]]>(field: string, values: T) =>
  z.enum(values, { error: enumError(field, values) })

export const SystemDiskType = enumOf('type', ['ECS', 'BMS']).meta({
  description: 'Image type of a system disk image: ECS (the default when absent) or BMS.',
  example: 'ECS',
})

export const DataDiskType = z
  .literal('DataImage')
  .meta({ description: 'DataImage: the image is a data disk image.' })

export const OsType = enumOf('os_type', ['Linux', 'Windows']).meta({
  description: 'OS of a data disk image: Linux (the default) or Windows.',
  example: 'Linux',
})

// "0" is the default enterprise project; IMS also reads an empty value as the default.
const ENTERPRISE_PROJECT =
  /^(0|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$/

export const EnterpriseProjectId = z
  .string({ error: typeError('enterprise_project_id', 'a string') })
  .regex(ENTERPRISE_PROJECT, {
    error: (iss) =>
      `enterprise_project_id must be "0" (the default project) or an enterprise project UUID such as "f2a9a0b1-4e5c-4d11-9b7e-6f1f0c2d3e4a"; got ${quote(iss.input)}`,
  })
  .meta({
    description: 'Enterprise project of the image: "0" (the default project) or an enterprise project UUID.',
    example: '0',
  })

export const Architecture = enumOf('architecture', ['x86', 'arm']).meta({
  description: 'Architecture of the image: x86 (the default) or arm. An arm image always boots with UEFI.',
  example: 'x86',
})

export const FirmwareType = enumOf('hw_firmware_type', ['bios', 'uefi']).meta({
  description: 'Boot firmware of the image: bios or uefi (arm images: uefi only).',
  example: 'bios',
})

export const LicenseType = enumOf('license_type', ['platform', 'byol']).meta({
  description:
    'Huawei Cloud only: licence of a Windows image, platform (licensed by the cloud) or byol (bring your own licence).',
  example: 'byol',
})
