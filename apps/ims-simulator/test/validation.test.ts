import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildSimulator, IMS_ERROR_CODES } from '../src/index.js'
import { passwordAuthBody, VALID_DATA_BODY, VALID_SYSTEM_BODY } from './helpers.js'

const base = VALID_SYSTEM_BODY
const data = VALID_DATA_BODY
const tags = (n: number) => Array.from({ length: n }, (_, i) => `k${i}.v${i}`)
const without = (key: string, from: Record<string, unknown> = base) => {
  const { [key]: _omitted, ...rest } = from
  return rest
}

/** The four example requests of the API page, verbatim. */
const PAGE_EXAMPLES = [
  { ...base, tags: ['aaa.111', 'bbb.333', 'ccc.444'] },
  {
    ...base,
    image_tags: [
      { key: 'key2', value: 'value2' },
      { key: 'key1', value: 'value1' },
    ],
  },
  { ...data, tags: ['aaa.111', 'bbb.333', 'ccc.444'] },
  {
    ...data,
    image_tags: [
      { key: 'key2', value: 'value2' },
      { key: 'key1', value: 'value1' },
    ],
  },
]

const ACCEPTED: Array<[string, unknown]> = [
  ['a 128-character name', { ...base, name: 'a'.repeat(128) }],
  ['a name with space, dot, dash, underscore', { ...base, name: 'My image-1.0_x' }],
  ['a 1024-character description', { ...base, description: 'd'.repeat(1024) }],
  ['no description', without('description')],
  ['no type (ECS)', without('type')],
  ['type BMS', { ...base, type: 'BMS' }],
  ['an OS version without 64bit suffix', { ...base, os_version: 'CoreOS 1068.10.0' }],
  ['a Windows OS version', { ...base, os_version: 'Windows Server 2016 Standard 64bit' }],
  ['a data image without os_type', without('os_type', data)],
  ['a data image for Windows', { ...data, os_type: 'Windows' }],
  ['a raw file in a folder', { ...base, image_url: 'my-bucket.eu:images/2024/disk.raw' }],
  ['an upper-case extension', { ...base, image_url: 'ims-image:DISK.ZVHD2' }],
  ['a raw file named .img', { ...base, image_url: 'ims-image:disk.img' }],
  ['a file without extension', { ...base, image_url: 'ims-image:images/disk' }],
  ['min_disk 1', { ...base, min_disk: 1 }],
  ['min_disk 1024', { ...base, min_disk: 1024 }],
  ['10 tags', { ...base, tags: tags(10) }],
  ['11 tag entries with 10 distinct keys', { ...base, tags: [...tags(10), 'k0.again'] }],
  ['a tag with an empty value', { ...base, tags: ['key.'] }],
  ['tag key 36 and value 43 characters', { ...base, tags: [`${'k'.repeat(36)}.${'v'.repeat(43)}`] }],
  ['image_tags with spaces around', { ...base, image_tags: [{ key: ' key ', value: ' value ' }] }],
  ['enterprise_project_id "0"', { ...base, enterprise_project_id: '0' }],
  ['enterprise_project_id empty', { ...base, enterprise_project_id: '' }],
  ['enterprise_project_id UUID', { ...base, enterprise_project_id: '0ffa5a33-8f4a-4e2b-9d3c-1a2b3c4d5e6f' }],
  ['architecture arm', { ...base, architecture: 'arm' }],
  ['arm with uefi', { ...base, architecture: 'arm', hw_firmware_type: 'uefi' }],
  ['x86 with uefi', { ...base, architecture: 'x86', hw_firmware_type: 'uefi' }],
  ['x86 with bios', { ...base, hw_firmware_type: 'bios' }],
]

const REJECTED: Array<[string, unknown, string]> = [
  ['an empty body', '', 'IMG.0007'],
  ['an empty object', {}, 'IMG.0007'],
  ['a body that is not JSON', '{"name":', 'IMG.0001'],
  ['a JSON array', [base], 'IMG.0001'],
  ['an unknown field', { ...base, color: 'blue' }, 'IMG.0001'],
  ['os_type on a system image', { ...base, os_type: 'Linux' }, 'IMG.0001'],
  ['os_version on a data image', { ...data, os_version: 'CentOS 7.0 64bit' }, 'IMG.0001'],
  ['architecture on a data image', { ...data, architecture: 'x86' }, 'IMG.0001'],
  ['an unknown type', { ...base, type: 'VM' }, 'IMG.0024'],
  ['no name', without('name'), 'IMG.0013'],
  ['an empty name', { ...base, name: '' }, 'IMG.0013'],
  ['a 129-character name', { ...base, name: 'a'.repeat(129) }, 'IMG.0002'],
  ['a name with a slash', { ...base, name: 'a/b' }, 'IMG.0003'],
  ['a name starting with a space', { ...base, name: ' abc' }, 'IMG.0003'],
  ['a name ending with a space', { ...base, name: 'abc ' }, 'IMG.0003'],
  ['a 1025-character description', { ...base, description: 'd'.repeat(1025) }, 'IMG.0004'],
  ['a description with <', { ...base, description: 'a <b>' }, 'IMG.0054'],
  ['a description with a newline', { ...base, description: 'a\nb' }, 'IMG.0054'],
  ['a description with a carriage return', { ...base, description: 'a\rb' }, 'IMG.0054'],
  ['no os_version', without('os_version'), 'IMG.0056'],
  ['an unknown os_version', { ...base, os_version: 'CentOS 99 64bit' }, 'IMG.0056'],
  ['an os_version in the wrong case', { ...base, os_version: 'centos 7.0 64bit' }, 'IMG.0056'],
  ['an unknown os_type', { ...data, os_type: 'Solaris' }, 'IMG.0122'],
  ['no image_url', without('image_url'), 'IMG.0068'],
  ['an image_url without a colon', { ...base, image_url: 'ims-image/centos70.zvhd2' }, 'IMG.0068'],
  ['an image_url without an object key', { ...base, image_url: 'ims-image:' }, 'IMG.0057'],
  ['an image_url as an obs:// URL', { ...base, image_url: 'obs://ims-image/centos70.zvhd2' }, 'IMG.0017'],
  ['an object key starting with /', { ...base, image_url: 'ims-image:/centos70.zvhd2' }, 'IMG.0017'],
  ['an object key naming a folder', { ...base, image_url: 'ims-image:images/' }, 'IMG.0075'],
  ['a file name with #', { ...base, image_url: 'ims-image:centos#70.zvhd2' }, 'IMG.0075'],
  ['a vmdk file, upper case', { ...base, image_url: 'ims-image:CENTOS70.VMDK' }, 'IMG.0072'],
  ['a zvhd (not zvhd2) file', { ...base, image_url: 'ims-image:centos70.zvhd' }, 'IMG.0072'],
  ['the bitmap file of a raw image', { ...base, image_url: 'ims-image:centos70.mf' }, 'IMG.0072'],
  ['an image_url without a bucket', { ...base, image_url: ':centos70.zvhd2' }, 'IMG.0068'],
  ['a bucket with upper case', { ...base, image_url: 'IMS_Image:centos70.zvhd2' }, 'IMG.0109'],
  ['a bucket of 2 characters', { ...base, image_url: 'ab:centos70.zvhd2' }, 'IMG.0109'],
  ['a bucket with ..', { ...base, image_url: 'ims..image:centos70.zvhd2' }, 'IMG.0109'],
  ['a bucket that is an IP address', { ...base, image_url: '192.168.1.1:centos70.zvhd2' }, 'IMG.0109'],
  ['a space in the file name', { ...base, image_url: 'ims-image:centos 70.zvhd2' }, 'IMG.0175'],
  ['a space in the folder name', { ...base, image_url: 'ims-image:my images/centos70.zvhd2' }, 'IMG.0175'],
  ['a qcow2 file', { ...base, image_url: 'ims-image:centos70.qcow2' }, 'IMG.0072'],
  ['a vhd file', { ...base, image_url: 'ims-image:centos70.vhd' }, 'IMG.0072'],
  ['no min_disk', without('min_disk'), 'IMG.0055'],
  ['min_disk 0', { ...base, min_disk: 0 }, 'IMG.0055'],
  ['min_disk 1025', { ...base, min_disk: 1025 }, 'IMG.0055'],
  ['a fractional min_disk', { ...base, min_disk: 40.5 }, 'IMG.0055'],
  ['min_disk as a string', { ...base, min_disk: '40' }, 'IMG.0055'],
  [
    'both tags and image_tags',
    { ...base, tags: ['a.b'], image_tags: [{ key: 'c', value: 'd' }] },
    'IMG.0115',
  ],
  ['tags that are not an array', { ...base, tags: 'a.b' }, 'IMG.0115'],
  ['a tag without a dot', { ...base, tags: ['nodot'] }, 'IMG.0115'],
  ['a tag with an empty key', { ...base, tags: ['.value'] }, 'IMG.0115'],
  ['a 37-character tag key', { ...base, tags: [`${'k'.repeat(37)}.v`] }, 'IMG.0115'],
  ['a 44-character tag value', { ...base, tags: [`k.${'v'.repeat(44)}`] }, 'IMG.0115'],
  ['a tag key with @', { ...base, tags: ['a@b.c'] }, 'IMG.0115'],
  ['a tag value with a space', { ...base, tags: ['a.b c'] }, 'IMG.0115'],
  ['an image_tag without value', { ...base, image_tags: [{ key: 'a' }] }, 'IMG.0115'],
  ['an image_tag with an extra field', { ...base, image_tags: [{ key: 'a', value: 'b', c: 1 }] }, 'IMG.0115'],
  [
    'a 37-character image_tag key',
    { ...base, image_tags: [{ key: 'k'.repeat(37), value: 'v' }] },
    'IMG.0115',
  ],
  ['11 tags', { ...base, tags: tags(11) }, 'IMG.0116'],
  [
    '11 image_tags',
    { ...base, image_tags: tags(11).map((t) => ({ key: t.split('.')[0], value: t.split('.')[1] })) },
    'IMG.0116',
  ],
  ['a malformed enterprise_project_id', { ...base, enterprise_project_id: 'my-project' }, 'IMG.0001'],
  ['architecture amd64', { ...base, architecture: 'amd64' }, 'IMG.0212'],
  ['hw_firmware_type efi', { ...base, hw_firmware_type: 'efi' }, 'IMG.0141'],
  ['arm with bios', { ...base, architecture: 'arm', hw_firmware_type: 'bios' }, 'IMG.0141'],
  ['a bucket named reject-img-0058', { ...base, image_url: 'reject-img-0058:disk.zvhd2' }, 'IMG.0058'],
  ['a bucket named reject-img-0060', { ...base, image_url: 'reject-img-0060:disk.zvhd2' }, 'IMG.0060'],
]

describe('quick import body validation', () => {
  const { app, control } = buildSimulator({ imageQuota: 1000, maxConcurrentImports: 1000 })
  let token = ''
  beforeAll(async () => {
    const res = await app.inject({ method: 'POST', url: '/v3/auth/tokens', payload: passwordAuthBody() })
    token = String(res.headers['x-subject-token'])
  })
  afterAll(() => app.close())

  const submit = (body: unknown) =>
    app.inject({
      method: 'POST',
      url: '/v2/cloudimages/quickimport/action',
      headers: { 'content-type': 'application/json', 'x-auth-token': token },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    })

  it.each(PAGE_EXAMPLES.map((body, i) => [i + 1, body] as const))(
    'accepts page example %i',
    async (_i, body) => {
      const res = await submit(body)
      expect(res.statusCode).toBe(200)
      expect(res.json().job_id).toMatch(/^[0-9a-f]{32}$/)
    },
  )

  it.each(ACCEPTED)('accepts %s', async (_label, body) => {
    const res = await submit(body)
    expect(res.json()).toHaveProperty('job_id')
    expect(res.statusCode).toBe(200)
  })

  it.each(REJECTED)('rejects %s with %s', async (_label, body, code) => {
    const before = control.counters().totalCreates
    const res = await submit(body)
    expect(res.statusCode).toBe(400)
    expect(res.json()).toEqual({ error: { code, message: IMS_ERROR_CODES[code]?.message } })
    expect(control.counters().totalCreates).toBe(before)
  })

  it('answers a reject-img bucket with the code table status (IMG.0026 is 403)', async () => {
    const res = await submit({ ...base, image_url: 'reject-img-0026:disk.zvhd2' })
    expect(res.statusCode).toBe(403)
    expect(res.json().error.code).toBe('IMG.0026')
  })

  it('data images become imsImportDataImageJob jobs with DataImage images', async () => {
    const res = await submit({ ...data, name: 'data-image-x' })
    const job = await app.inject({
      url: `/v1/cloudimages/job/${res.json().job_id}`,
      headers: { 'x-auth-token': token },
    })
    expect(job.json().job_type).toBe('imsImportDataImageJob')
    const list = await app.inject({
      url: '/v2/cloudimages?name=data-image-x',
      headers: { 'x-auth-token': token },
    })
    expect(list.json().images[0]).toMatchObject({ virtual_env_type: 'DataImage', __os_type: 'Linux' })
  })
})
