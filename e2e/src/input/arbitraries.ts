import { MARKER_TAG_KEY, OS_VERSIONS } from '@ims-importer/core'
import fc from 'fast-check'
// Plain data shared by core's schema tests and the simulator's agreement test (no code loaded).
import { BOUNDARY_BODIES, PAGE_EXAMPLES } from '../../../packages/core/test/fixtures/invalid-bodies.js'

/**
 * Generators of quick-import request bodies for the intake's property and differential tests.
 *
 * A generated case is the exact JSON text sent (`raw`), so that a body can carry what a JS
 * object cannot: a key given twice, or numbers like `1e400` or `40.0`. `family` says which
 * generator made it, for the run's figures. Bodies never carry the service fields (target,
 * external_id, callback_url): the intake splits those off before judging the IMS body, and the
 * simulator would call them unknown fields; they have tests of their own.
 */
export interface BodyCase {
  raw: string
  family: 'valid' | 'near-valid' | 'arbitrary'
  /** The mutations applied (near-valid), for messages. */
  note: string
}

export const SERVICE_FIELDS = ['target', 'external_id', 'callback_url'] as const

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type Body = Record<string, Json>

/** A string value written verbatim into the JSON text (a number IMS would parse its own way). */
const RAW_MARK = '\u0000raw:'
const rawNumber = (text: string): string => `${RAW_MARK}${text}`

/** The JSON text of a body: raw markers become their text, `extra` keys are appended (a key twice). */
export function toRaw(body: unknown, extra: [string, Json][] = []): string {
  let text = JSON.stringify(body) ?? 'null'
  if (extra.length > 0 && text.startsWith('{')) {
    const tail = extra.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')
    text = text === '{}' ? `{${tail}}` : `${text.slice(0, -1)},${tail}}`
  }
  return text.replace(/"\\u0000raw:([^"]*)"/g, '$1')
}

// ---- valid bodies -------------------------------------------------------------------------

const chars = (set: string) => fc.constantFrom(...set.split(''))
const LOWER = 'abcdefghijklmnopqrstuvwxyz'
const DIGITS = '0123456789'
const ALNUM = `${LOWER}${LOWER.toUpperCase()}${DIGITS}`
const TAG_CHARS = `${ALNUM}_-`

const nameArb = fc
  .string({ unit: chars(`${ALNUM}._- `), minLength: 1, maxLength: 128 })
  .map((s) => s.replace(/^ /, 'a').replace(/ $/, 'z'))

const descriptionArb = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 100 }),
  fc.constant('Create an image using a file in the OBS bucket.'),
  fc.constant(''),
)
const validDescription = descriptionArb.map((s) => s.replace(/[\r\n<>]/g, ' '))

const bucketLabel = fc.string({ unit: chars(`${LOWER}${DIGITS}`), minLength: 1, maxLength: 12 })
const bucketArb = fc
  .tuple(fc.array(bucketLabel, { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([labels, dashed]) => labels.join(dashed ? '-' : '.'))
  .filter((b) => b.length >= 3 && b.length <= 63 && !/^\d{1,3}(\.\d{1,3}){3}$/.test(b))

const fileStem = fc.string({ unit: chars(`${ALNUM}_-`), minLength: 1, maxLength: 24 }).map((s) => `f${s}`)
const folder = fc.string({ unit: chars(`${ALNUM}._-`), minLength: 1, maxLength: 12 })
const goodExtension = fc.constantFrom('.zvhd2', '.ZVHD2', '.raw', '.RAW', '.img', '', '.bin')
const objectKeyArb = fc
  .tuple(fc.array(folder, { maxLength: 3 }), fileStem, goodExtension)
  .map(([folders, stem, ext]) => [...folders, `${stem}${ext}`].join('/'))
const imageUrlArb = fc.tuple(bucketArb, objectKeyArb).map(([b, k]) => `${b}:${k}`)

const tagKey = fc
  .string({ unit: chars(TAG_CHARS), minLength: 1, maxLength: 36 })
  .filter((k) => k !== MARKER_TAG_KEY)
const tagValue = fc.string({ unit: chars(TAG_CHARS), maxLength: 43 })
const tagPairs = (max: number) =>
  fc.uniqueArray(fc.tuple(tagKey, tagValue), { maxLength: max, selector: ([k]) => k })
const pad = fc.constantFrom('', ' ', '  ')

/** Either tag form (or none), at most 9 distinct keys that are not the marker key. */
const tagsField: fc.Arbitrary<Body> = fc.oneof(
  fc.constant({}),
  tagPairs(9).map((pairs) => ({ tags: pairs.map(([k, v]) => `${k}.${v}`) })),
  fc
    .tuple(tagPairs(9), pad, pad)
    .map(([pairs, p1, p2]) => ({ image_tags: pairs.map(([k, v]) => ({ key: `${p1}${k}${p2}`, value: v })) })),
)

const optional = <T extends Json>(field: string, arb: fc.Arbitrary<T>): fc.Arbitrary<Body> =>
  fc.option(arb, { nil: undefined }).map((v) => (v === undefined ? {} : { [field]: v }))

const enterpriseProject = optional(
  'enterprise_project_id',
  fc.oneof(
    fc.constantFrom('0', ''),
    fc.uuid(),
    fc.uuid().map((u) => u.toUpperCase()),
  ),
)

const firmware: fc.Arbitrary<Body> = fc
  .tuple(
    fc.option(fc.constantFrom('x86', 'arm'), { nil: undefined }),
    fc.option(fc.constantFrom('bios', 'uefi'), { nil: undefined }),
  )
  .filter(([arch, fw]) => !(arch === 'arm' && fw === 'bios'))
  .map(([arch, fw]) => ({
    ...(arch === undefined ? {} : { architecture: arch }),
    ...(fw === undefined ? {} : { hw_firmware_type: fw }),
  }))

const merge = (parts: Body[]): Body => Object.assign({}, ...parts)

export const validSystemBody: fc.Arbitrary<Body> = fc
  .tuple(
    fc.record({
      name: nameArb,
      os_version: fc.constantFrom(...OS_VERSIONS),
      image_url: imageUrlArb,
      min_disk: fc.integer({ min: 1, max: 1024 }),
    }),
    optional('description', validDescription),
    optional('type', fc.constantFrom('ECS', 'BMS')),
    tagsField,
    enterpriseProject,
    firmware,
  )
  .map(merge)

export const validDataBody: fc.Arbitrary<Body> = fc
  .tuple(
    fc.record({
      name: nameArb,
      image_url: imageUrlArb,
      min_disk: fc.integer({ min: 1, max: 1024 }),
      type: fc.constant('DataImage'),
    }),
    optional('description', validDescription),
    optional('os_type', fc.constantFrom('Linux', 'Windows')),
    tagsField,
    enterpriseProject,
  )
  .map(merge)

/** Bodies both IMS and the service accept: the page's shapes with generated values. */
export const validBody: fc.Arbitrary<Body> = fc.oneof(validSystemBody, validDataBody)

// ---- near-valid mutations -------------------------------------------------------------------

/** The page's four examples and the fixture's boundary bodies, verbatim. */
export const SEED_BODIES: readonly Body[] = [
  ...PAGE_EXAMPLES.map((e) => e.body as Body),
  ...BOUNDARY_BODIES.map((b) => b.body as Body),
]

const FIELDS = [
  'name',
  'description',
  'os_version',
  'os_type',
  'image_url',
  'min_disk',
  'tags',
  'image_tags',
  'type',
  'enterprise_project_id',
  'architecture',
  'hw_firmware_type',
] as const

/** A mutation: how the body changes, and keys to append to the JSON text (a key given twice). */
interface Mutation {
  name: string
  apply(body: Body, extra: [string, Json][]): Body
}

/** A value as it reads in the JSON text, for mutation names. */
const shown = (v: unknown) =>
  typeof v === 'string' && v.startsWith(RAW_MARK) ? v.slice(RAW_MARK.length) : JSON.stringify(v)

const mutation = <T>(
  arb: fc.Arbitrary<T>,
  name: (v: T) => string,
  apply: (b: Body, v: T, extra: [string, Json][]) => Body,
) => arb.map((v): Mutation => ({ name: name(v), apply: (b, extra) => apply(b, v, extra) }))

const ODD_VALUES: Json[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER + 2,
  '',
  ' ',
  '40',
  'null',
  [],
  ['aaa.111'],
  [null],
  {},
  { key: 'k', value: 'v' },
  rawNumber('1e400'),
  rawNumber('-1e400'),
  rawNumber('40.0'),
  rawNumber('4e1'),
  rawNumber('-0'),
  rawNumber('40.00000000000000001'),
  rawNumber('1024.0000000000001'),
  rawNumber('123456789012345678901234567890'),
  rawNumber('1E-400'),
]

const FORBIDDEN_CHARS = [
  '#',
  'é',
  '\n',
  '\r',
  '\t',
  '<',
  '>',
  '\u0000',
  '\u200b',
  '\u00a0',
  '\u2028',
  '\u3000',
  'Ａ',
  '😀',
  '\ud800',
  '/',
  '\\',
  ':',
  '.',
  ' ',
  '"',
  '%',
  '*',
  '?',
]

const UNKNOWN_FIELDS = [
  'region',
  'minDisk',
  'os_versions',
  'Name',
  'IMAGE_URL',
  'image_URL',
  'disk_format',
  'imagetype',
  'data_images',
  'is_config',
  '',
  ' ',
  'name ',
  'tags ',
  'license_type',
  'os_type ',
  'osVersion',
  'ims_importer_id',
  '__proto',
  'prototype',
]

const OS_TYPOS: ((s: string, i: number) => string)[] = [
  (s) => s.toLowerCase(),
  (s) => s.toUpperCase(),
  (s) => `${s} `,
  (s) => ` ${s}`,
  (s) => s.replace('64bit', '64 bit'),
  (s) => s.replace('64bit', 'x86_64'),
  (s) => s.replace(/ /g, '  '),
  (s, i) => s.slice(0, i % s.length) + s.slice((i % s.length) + 1),
  (s, i) => s.slice(0, i % s.length) + s.charAt(i % s.length) + s.slice(i % s.length),
  (s, i) => {
    const j = i % (s.length - 1)
    return s.slice(0, j) + s.charAt(j + 1) + s.charAt(j) + s.slice(j + 2)
  },
]

const IMAGE_URLS = [
  'ab:x.zvhd2',
  'abc:x.zvhd2',
  `${'b'.repeat(63)}:x.zvhd2`,
  `${'b'.repeat(64)}:x.zvhd2`,
  '-ab:x.raw',
  'ab-:x.raw',
  'a..b:x.raw',
  'a.-b:x.raw',
  '192.168.0.1:x.raw',
  '1.2.3:x.raw',
  'IMS-image:x.raw',
  'ims_image:x.raw',
  'ims image:x.raw',
  ':x.raw',
  'ims-image:',
  'ims-image:dir/',
  'ims-image:/x.raw',
  'ims-image:a//b.raw',
  'ims-image:x y.raw',
  'ims-image:dir x/y.raw',
  'ims-image:x\ty.raw',
  'ims-image:x:y.raw',
  'ims-image:fo#o/x.zvhd2',
  'ims-image:foé/x.zvhd2',
  'ims-image:x#.raw',
  'ims-image:.vmdk',
  'ims-image:.raw',
  'ims-image:..',
  'ims-image:x.',
  'ims-image:x.qcow2',
  'ims-image:x.QCOW2',
  'ims-image:x.qcow',
  'ims-image:x.vmdk',
  'ims-image:x.vhd',
  'ims-image:x.vhdx',
  'ims-image:x.zvhd',
  'ims-image:x.zvhd2.qcow2',
  'ims-image:x.qcow2.zvhd2',
  'ims-image:x.qed',
  'ims-image:x.vdi',
  'ims-image:x.iso',
  'ims-image:x.ova',
  'ims-image:x.ovf',
  'ims-image:x.mf',
  'ims-image:x.zip',
  'ims-image:x.tar.gz',
  'ims-image:x.7z',
  'ims-image:x.xz',
  'ims-image:x.bz2',
  'ims-image:x.tgz',
  'ims-image:x.tar',
  'ims-image:x.gz',
  'obs://ims-image/x.zvhd2',
  'https://ims-image.obs.example.com/x.zvhd2',
  'ims-image',
  'ims-image:x.raw ',
  ' ims-image:x.raw',
]

const urlChars = `${LOWER}${DIGITS}.-_:/ A#Z`

/** One random change to a body; a near-valid body is a seed with one to three of these. */
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  // drop a field
  mutation(
    fc.constantFrom(...FIELDS),
    (f) => `drop ${f}`,
    (b, f) => {
      const { [f]: _, ...rest } = b
      return rest
    },
  ),
  // a field given twice in the JSON text; the last one counts
  mutation(
    fc.tuple(fc.constantFrom(...FIELDS), fc.constantFrom(...ODD_VALUES)),
    ([f, v]) => `key ${f} twice, last ${shown(v)}`,
    (b, [f, v], extra) => {
      extra.push([f, v])
      return b
    },
  ),
  // retype a field
  mutation(
    fc.tuple(fc.constantFrom(...FIELDS), fc.constantFrom(...ODD_VALUES)),
    ([f, v]) => `${f} = ${shown(v)}`,
    (b, [f, v]) => ({ ...b, [f]: v }),
  ),
  // boundary lengths and values, one under, at and over
  mutation(
    fc.tuple(
      fc.constantFrom('name', 'description', 'tagKey', 'tagValue', 'bucket', 'min_disk'),
      fc.integer({ min: -1, max: 1 }),
    ),
    ([what, d]) => `${what} boundary ${d}`,
    (b, [what, d]) => {
      switch (what) {
        case 'name':
          return { ...b, name: 'n'.repeat(128 + d) }
        case 'description':
          return { ...b, description: 'd'.repeat(1024 + d) }
        case 'tagKey':
          return { ...b, image_tags: undefined as never, tags: [`${'k'.repeat(36 + d)}.v`] }
        case 'tagValue':
          return { ...b, image_tags: undefined as never, tags: [`k.${'v'.repeat(43 + d)}`] }
        case 'bucket':
          return { ...b, image_url: `${'b'.repeat(d < 0 ? 2 : d === 0 ? 3 : 64)}:x.zvhd2` }
        default:
          return { ...b, min_disk: d < 0 ? 0 : d === 0 ? 1024 : 1025 }
      }
    },
  ),
  mutation(
    fc.constantFrom(-1, 0, 1, 2, 1023, 1024, 1025, 2048),
    (n) => `min_disk ${n}`,
    (b, n) => ({ ...b, min_disk: n }),
  ),
  // a forbidden (or odd) character in a string field
  mutation(
    fc.tuple(
      fc.constantFrom(
        'name',
        'description',
        'image_url',
        'os_version',
        'os_type',
        'type',
        'enterprise_project_id',
        'architecture',
        'hw_firmware_type',
        'tags',
        'image_tags',
      ),
      fc.constantFrom(...FORBIDDEN_CHARS),
      fc.nat(),
      fc.boolean(),
    ),
    ([f, c, _at, inKey]) =>
      `${JSON.stringify(c)} into ${f}${f.includes('tags') ? (inKey ? ' key' : ' value') : ''}`,
    (b, [f, c, at, inKey]) => {
      const insert = (s: string) => {
        const i = at % (s.length + 1)
        return s.slice(0, i) + c + s.slice(i)
      }
      if (f === 'tags') {
        const tags = Array.isArray(b.tags) && b.tags.length > 0 ? [...b.tags] : ['aaa.111']
        const i = at % tags.length
        const t = String(tags[i])
        const dot = t.indexOf('.')
        tags[i] =
          dot < 0
            ? insert(t)
            : inKey
              ? `${insert(t.slice(0, dot))}${t.slice(dot)}`
              : `${t.slice(0, dot + 1)}${insert(t.slice(dot + 1))}`
        const { image_tags: _, ...rest } = b
        return { ...rest, tags }
      }
      if (f === 'image_tags') {
        const list =
          Array.isArray(b.image_tags) && b.image_tags.length > 0
            ? [...b.image_tags]
            : [{ key: 'k', value: 'v' }]
        const i = at % list.length
        const entry = list[i]
        const e =
          entry && typeof entry === 'object' && !Array.isArray(entry) ? entry : { key: 'k', value: 'v' }
        list[i] = inKey
          ? { ...e, key: insert(String(e.key ?? '')) }
          : { ...e, value: insert(String(e.value ?? '')) }
        const { tags: _, ...rest } = b
        return { ...rest, image_tags: list }
      }
      const current = b[f]
      return { ...b, [f]: insert(typeof current === 'string' ? current : 'x') }
    },
  ),
  // an unknown field
  mutation(
    fc.tuple(
      fc.constantFrom(...UNKNOWN_FIELDS),
      fc.oneof(fc.constantFrom(...ODD_VALUES), fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>),
    ),
    ([f]) => `unknown field ${JSON.stringify(f)}`,
    (b, [f, v]) => ({ ...b, [f]: v }),
  ),
  // both tag forms
  mutation(
    fc.constant(null),
    () => 'tags and image_tags',
    (b) => ({ ...b, tags: ['aaa.111'], image_tags: [{ key: 'bbb', value: '222' }] }),
  ),
  // 9, 10, 11 or 12 tags in either form, maybe a key twice, maybe the marker key
  mutation(
    fc.record({
      n: fc.constantFrom(0, 1, 8, 9, 10, 11, 12),
      form: fc.constantFrom('tags', 'image_tags'),
      duplicate: fc.boolean(),
      marker: fc.constantFrom('none', 'none', 'none', 'plain', 'padded'),
    }),
    (o) =>
      `${o.n} ${o.form}${o.duplicate ? ', a key twice' : ''}${o.marker !== 'none' ? `, marker ${o.marker}` : ''}`,
    (b, o) => {
      const keys = Array.from({ length: o.n }, (_, i) => `key${i}`)
      if (o.duplicate && keys.length > 1) keys[keys.length - 1] = 'key0'
      if (o.marker !== 'none' && keys.length > 0)
        keys[0] = o.marker === 'plain' ? MARKER_TAG_KEY : ` ${MARKER_TAG_KEY} `
      const { tags: _t, image_tags: _i, ...rest } = b
      return o.form === 'tags'
        ? { ...rest, tags: keys.map((k, i) => `${k}.v${i}`) }
        : { ...rest, image_tags: keys.map((k, i) => ({ key: k, value: `v${i}` })) }
    },
  ),
  // bad buckets and extensions, listed and random
  mutation(
    fc.oneof(
      fc.constantFrom(...IMAGE_URLS),
      fc.string({ unit: chars(urlChars), maxLength: 30 }),
      fc
        .tuple(bucketArb, fc.string({ unit: chars(`${ALNUM}._-/ #:`), maxLength: 20 }))
        .map(([bk, k]) => `${bk}:${k}`),
    ),
    (u) => `image_url ${JSON.stringify(u)}`,
    (b, u) => ({ ...b, image_url: u }),
  ),
  // architecture and firmware combinations
  mutation(
    fc.tuple(
      fc.constantFrom('x86', 'arm', 'ARM', 'aarch64', 'x86_64', null, undefined),
      fc.constantFrom('bios', 'uefi', 'UEFI', 'efi', null, undefined),
    ),
    ([a, w]) => `architecture ${String(a)}, hw_firmware_type ${String(w)}`,
    (b, [a, w]) => {
      const { architecture: _a, hw_firmware_type: _w, ...rest } = b
      return {
        ...rest,
        ...(a === undefined ? {} : { architecture: a }),
        ...(w === undefined ? {} : { hw_firmware_type: w }),
      }
    },
  ),
  // os_version typos, or an os_version where os_type belongs and the reverse
  mutation(
    fc.tuple(fc.constantFrom(...OS_VERSIONS), fc.nat(OS_TYPOS.length - 1), fc.nat()),
    ([os, t]) => `os_version typo ${t} of ${JSON.stringify(os)}`,
    (b, [os, t, i]) => ({ ...b, os_version: (OS_TYPOS[t] as (s: string, i: number) => string)(os, i) }),
  ),
  mutation(
    fc.constantFrom('Linux', 'Windows', 'linux', 'Other', 'CentOS 7.0 64bit'),
    (v) => `os_type ${v}`,
    (b, v) => ({ ...b, os_type: v }),
  ),
  // the type
  mutation(
    fc.constantFrom(
      'ECS',
      'BMS',
      'DataImage',
      'ecs',
      'dataimage',
      'Data',
      'IsoImage',
      '',
      null,
      0,
      undefined,
    ),
    (v) => `type ${String(v)}`,
    (b, v) => {
      const { type: _, ...rest } = b
      return v === undefined ? rest : { ...rest, type: v }
    },
  ),
  // unicode in any string field
  mutation(
    fc.tuple(
      fc.constantFrom('name', 'description', 'image_url', 'os_version'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
    ),
    ([f]) => `unicode in ${f}`,
    (b, [f, s]) => ({ ...b, [f]: s }),
  ),
  // arrays where objects belong and the reverse
  mutation(
    fc.constantFrom(
      'image_tags entry as array',
      'tags as object',
      'image_tags as object',
      'tags entry as object',
      'image_tags entry extra key',
    ),
    (what) => what,
    (b, what) => {
      switch (what) {
        case 'image_tags entry as array':
          return { ...b, tags: undefined as never, image_tags: [['key1', 'value1']] }
        case 'tags as object':
          return { ...b, image_tags: undefined as never, tags: { aaa: '111' } }
        case 'image_tags as object':
          return { ...b, tags: undefined as never, image_tags: { key: 'key1', value: 'value1' } }
        case 'tags entry as object':
          return { ...b, image_tags: undefined as never, tags: [{ key: 'aaa', value: '111' }] }
        default:
          return { ...b, tags: undefined as never, image_tags: [{ key: 'key1', value: 'v', Key: 'x' }] }
      }
    },
  ),
)

/** Removes keys set to undefined (the mutations use that to clear a field). */
const clean = (b: Body): Body => JSON.parse(JSON.stringify(b)) as Body

/** The wholesale changes: the body replaced by a scalar or wrapped in an array, or emptied. */
const wholesale = fc.constantFrom<(b: Body) => Json>(
  (b) => [b],
  () => null,
  () => 'name=x',
  () => 42,
  () => true,
  () => [],
  () => ({}),
)

/**
 * A seed (the page's examples, the boundary bodies, or a generated valid body) with 1 to
 * `maxMutations` mutations, and now and then replaced or wrapped as a whole.
 */
export const nearValidCase = (maxMutations: number): fc.Arbitrary<BodyCase> =>
  fc
    .tuple(
      fc.oneof(fc.constantFrom(...SEED_BODIES), validBody),
      fc.array(mutationArb, { minLength: 1, maxLength: maxMutations }),
      fc.option(wholesale, { freq: 30, nil: undefined }),
    )
    .map(([seed, mutations, whole]) => {
      const extra: [string, Json][] = []
      let body: Body = clean(seed)
      for (const m of mutations) body = m.apply(body, extra)
      const cleaned = clean(body)
      const note = mutations.map((m) => m.name).join('; ')
      if (whole) {
        const replaced = whole(cleaned)
        return {
          raw: toRaw(replaced),
          family: 'near-valid' as const,
          note: `${note}; then wholesale ${JSON.stringify(replaced).slice(0, 20)}`,
        }
      }
      return { raw: toRaw(body, extra), family: 'near-valid' as const, note }
    })

// ---- arbitrary JSON -----------------------------------------------------------------------

const stripServiceFields = (value: unknown): unknown => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value))
    if (!(SERVICE_FIELDS as readonly string[]).includes(k)) out[k] = v
  return out
}

/** Keys JSON.parse would turn into prototype tricks: refused as a whole by the API's parser, tested apart. */
const hasPrototypeKey = (raw: string) => raw.includes('"__proto__"') || raw.includes('"constructor"')

export const arbitraryCase: fc.Arbitrary<BodyCase> = fc
  .oneof(
    fc.jsonValue({ maxDepth: 4 }),
    fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }),
    // objects of the right field names with values of any kind
    fc.dictionary(fc.constantFrom(...FIELDS), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 12 }),
    fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 8 }),
  )
  .map((v) => ({ raw: toRaw(stripServiceFields(v)), family: 'arbitrary' as const, note: 'arbitrary JSON' }))
  .filter((c) => !hasPrototypeKey(c.raw))

export const validCase: fc.Arbitrary<BodyCase> = validBody.map((b) => ({
  raw: toRaw(b),
  family: 'valid' as const,
  note: 'valid',
}))

/** Every kind of body, weighted toward the near-valid ones, where bugs live. */
export const anyCase: fc.Arbitrary<BodyCase> = fc.oneof(
  { arbitrary: validCase, weight: 20 },
  { arbitrary: nearValidCase(1).filter((c) => !hasPrototypeKey(c.raw)), weight: 30 },
  { arbitrary: nearValidCase(3).filter((c) => !hasPrototypeKey(c.raw)), weight: 30 },
  { arbitrary: arbitraryCase, weight: 20 },
)
