import type { ImsBodyErrorCode } from './ims-codes.js'
import { listChars, quote } from './text.js'

export interface Problem {
  message: string
  ims_code?: ImsBodyErrorCode
}

/**
 * File extensions of formats quick import does not take. Quick import registers RAW or ZVHD2
 * files only (keys like `x.zvhd2`, `x.raw`, `x.img` or without an extension are fine); the
 * others go through the normal import, which converts them and stops at 128 GB.
 */
const UNSUPPORTED_FORMATS: Record<string, string> = {
  qcow2: 'QCOW2',
  qcow: 'QCOW',
  vmdk: 'VMDK',
  vhd: 'VHD',
  vhdx: 'VHDX',
  zvhd: 'ZVHD (not ZVHD2)',
  qed: 'QED',
  vdi: 'VDI',
  iso: 'ISO',
  ova: 'OVA',
  ovf: 'OVF',
  zip: 'a ZIP archive',
  gz: 'a gzip archive',
  tgz: 'a gzip archive',
  tar: 'a tar archive',
  xz: 'an xz archive',
  bz2: 'a bzip2 archive',
  '7z': 'a 7-Zip archive',
}

const BUCKET_CHARS = /^[a-z0-9.-]*$/
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/
// IMS: file names take letters, digits, "-", "." and "_" (spaces, in folder or file names, are IMG.0175).
const KEY_CHAR = /[A-Za-z0-9._-]/

/** OBS bucket naming rules; each broken rule is one problem. */
function bucketProblems(bucket: string): Problem[] {
  if (bucket.length === 0) {
    return [{ message: 'image_url has no bucket name before ":"', ims_code: 'IMG.0068' }]
  }
  const problems: string[] = []
  if (bucket.length < 3 || bucket.length > 63) {
    problems.push(`is ${bucket.length} characters long; OBS bucket names have 3 to 63`)
  }
  if (!BUCKET_CHARS.test(bucket)) {
    const bad = [...bucket].filter((c) => !/[a-z0-9.-]/.test(c))
    problems.push(
      `contains ${listChars(bad)}; OBS bucket names take only lowercase letters, digits, "-" and "."`,
    )
  }
  // Other characters are reported above; here only the two OBS allows inside but not at the ends.
  if (/^[.-]|[.-]$/.test(bucket)) {
    problems.push('must start and end with a lowercase letter or a digit')
  }
  if (bucket.includes('..')) problems.push('must not contain two periods in a row')
  if (bucket.includes('.-') || bucket.includes('-.'))
    problems.push('must not have "." and "-" next to each other')
  if (IPV4.test(bucket)) problems.push('must not be an IP address')
  return problems.map((p) => ({
    message: `image_url bucket name ${quote(bucket)} ${p}`,
    ims_code: 'IMG.0109',
  }))
}

function objectKeyProblems(key: string): Problem[] {
  if (key.length === 0) {
    return [{ message: 'image_url has no image file name after ":"', ims_code: 'IMG.0057' }]
  }
  const problems: Problem[] = []
  if (/\s/.test(key)) {
    problems.push({
      message: `image_url file name ${quote(key)} contains spaces; folder and file names must not`,
      ims_code: 'IMG.0175',
    })
  }
  const segments = key.split('/')
  // IMG.0075 names the characters of the file name only; of folder names IMS documents spaces alone (IMG.0175).
  const bad = [...(segments[segments.length - 1] ?? '')].filter((c) => !KEY_CHAR.test(c) && !/\s/.test(c))
  if (bad.length > 0) {
    problems.push({
      message: `image_url file name ${quote(key)} contains ${listChars(bad)}; file names take only letters, digits, "-", "." and "_"`,
      ims_code: 'IMG.0075',
    })
  }
  if (segments.some((s) => s.length === 0)) {
    problems.push({
      message: `image_url file name ${quote(key)} has an empty folder name or ends with "/"; it must name a file`,
      ims_code: 'IMG.0075',
    })
  }
  const file = segments[segments.length - 1] ?? ''
  const dot = file.lastIndexOf('.')
  // By its suffix, as IMS judges it: ".vmdk" is a VMDK file too.
  const extension = dot >= 0 ? file.slice(dot + 1).toLowerCase() : ''
  const format = UNSUPPORTED_FORMATS[extension]
  if (format !== undefined) {
    problems.push({
      message: `image_url file ${quote(file)} is ${format}; quick import takes only RAW or ZVHD2 files (convert it with qemu-img-hw convert -O zvhd2)`,
      ims_code: 'IMG.0072',
    })
  } else if (extension === 'mf') {
    problems.push({
      message: `image_url file ${quote(file)} is the bitmap file of a RAW image; point image_url at the RAW file itself`,
      ims_code: 'IMG.0072',
    })
  }
  return problems
}

/**
 * What is wrong with an `image_url` ("bucket:object-key", split at the first ":"), as IMS would
 * judge it from the string alone; empty when nothing is. Whether the file exists, is at most
 * 1 TB and sits in a Standard bucket of the same region, only IMS can tell.
 */
export function imageUrlProblems(url: string): Problem[] {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    return [
      {
        message: `image_url must be "bucket:file" (for example "ims-image:centos70.zvhd2"), not a URL like "${url.slice(0, url.indexOf('//') + 2)}..."`,
      },
    ]
  }
  const colon = url.indexOf(':')
  if (colon < 0) {
    return [
      {
        message: `image_url ${quote(url)} has no bucket: it must be "bucket:file", for example "ims-image:centos70.zvhd2"`,
        ims_code: 'IMG.0068',
      },
    ]
  }
  return [...bucketProblems(url.slice(0, colon)), ...objectKeyProblems(url.slice(colon + 1))]
}
