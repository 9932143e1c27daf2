import { z } from 'zod'
import { MARKER_TAG_KEY } from '../keys.js'
import { describeType, listChars, quote } from './text.js'

/**
 * Tags a caller may send. An image holds at most 10 tags (IMG.0116) and the service adds one
 * more, the marker tag that carries the import id (MARKER_TAG_KEY), before submitting.
 */
export const MAX_CALLER_TAGS = 9

const TAG_KEY_MAX = 36
const TAG_VALUE_MAX = 43
const TAG_CHAR = /[A-Za-z0-9_-]/

/** What is wrong with the length (over `max`) and the characters of a tag key or value. */
function lengthAndCharProblems(what: 'key' | 'value', text: string, max: number): string[] {
  const problems: string[] = []
  if (text.length > max) {
    problems.push(`tag ${what} ${quote(text)} is ${text.length} characters long; at most ${max} are allowed`)
  }
  const bad = [...text].filter((c) => !TAG_CHAR.test(c))
  if (bad.length > 0) {
    problems.push(
      `tag ${what} ${quote(text)} contains ${listChars(bad)}; tags take only letters, digits, "_" and "-"`,
    )
  }
  return problems
}

/** What is wrong with a tag key (already trimmed where IMS trims); empty when nothing is. */
function tagKeyProblems(key: string): string[] {
  const problems: string[] = []
  if (key.length === 0) problems.push(`tag key is empty; it needs 1 to ${TAG_KEY_MAX} characters`)
  problems.push(...lengthAndCharProblems('key', key, TAG_KEY_MAX))
  if (key === MARKER_TAG_KEY) {
    problems.push(
      `tag key "${MARKER_TAG_KEY}" is reserved: the service adds it to find the image by import id`,
    )
  }
  return problems
}

function tagValueProblems(value: string): string[] {
  return lengthAndCharProblems('value', value, TAG_VALUE_MAX)
}

/** A "key.value" tag split at the first "."; undefined without a ".". */
export function splitTag(tag: string): { key: string; value: string } | undefined {
  const dot = tag.indexOf('.')
  return dot < 0 ? undefined : { key: tag.slice(0, dot), value: tag.slice(dot + 1) }
}

export function isTagValue(value: string): boolean {
  return tagValueProblems(value).length === 0
}

const TAG_CODE = { ims_code: 'IMG.0115' } as const

const tagTypeError = (what: string, whenMissing: string) => (iss: { code: string; input?: unknown }) =>
  iss.code === 'invalid_type'
    ? iss.input === undefined
      ? whenMissing
      : `${what} must be a string, not ${describeType(iss.input)}`
    : undefined

const TagString = z.string({ error: tagTypeError('a tag', 'a tag is required') }).superRefine((tag, ctx) => {
  const parts = splitTag(tag)
  if (parts === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `tag ${quote(tag)} must be "key.value" (split at the first "."); for an empty value write ${quote(`${tag}.`)}`,
      params: TAG_CODE,
      input: tag,
    })
    return
  }
  for (const message of [...tagKeyProblems(parts.key), ...tagValueProblems(parts.value)]) {
    ctx.addIssue({ code: 'custom', message, params: TAG_CODE, input: tag })
  }
})

/** IMS trims leading and trailing spaces of image_tags keys and values before judging them. */
const trimmedCheck = (problems: (s: string) => string[]) => (value: string, ctx: z.RefinementCtx<string>) => {
  for (const message of problems(value.trim()))
    ctx.addIssue({ code: 'custom', message, params: TAG_CODE, input: value })
}

const ImageTag = z.strictObject(
  {
    key: z
      .string({
        error: tagTypeError('key', `an image_tags entry needs a "key" (1 to ${TAG_KEY_MAX} characters)`),
      })
      .superRefine(trimmedCheck(tagKeyProblems)),
    value: z
      .string({ error: tagTypeError('value', 'an image_tags entry needs a "value" (it may be "")') })
      .superRefine(trimmedCheck(tagValueProblems)),
  },
  {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') {
        return `image_tags entries take only "key" and "value"; ${iss.keys.map((k) => quote(k)).join(', ')} is not accepted`
      }
      if (iss.code === 'invalid_type')
        return `an image_tags entry must be an object {"key": ..., "value": ...}, not ${describeType(iss.input)}`
      return undefined
    },
  },
)

const tooManyMessage = (field: string, count: number) =>
  `${field} has ${count} entries; at most ${MAX_CALLER_TAGS} are allowed: an image holds at most ${MAX_CALLER_TAGS + 1} tags and the service adds one (${MARKER_TAG_KEY}) to find the image later`

/** The list-wide rules: how many tags, and no key twice. Runs even when an entry is invalid. */
function tagListCheck(field: string, keyOf: (entry: unknown) => string | undefined) {
  return (entries: unknown[], ctx: z.RefinementCtx<unknown[]>) => {
    if (!Array.isArray(entries)) return
    if (entries.length > MAX_CALLER_TAGS) {
      ctx.addIssue({
        code: 'custom',
        message: tooManyMessage(field, entries.length),
        params: { ims_code: 'IMG.0116' },
        input: entries,
      })
    }
    const firstSeen = new Map<string, number>()
    entries.forEach((entry, index) => {
      const key = keyOf(entry)
      if (key === undefined) return
      const first = firstSeen.get(key)
      if (first === undefined) firstSeen.set(key, index)
      else {
        ctx.addIssue({
          code: 'custom',
          message: `tag key ${quote(key)} appears twice (also ${field}[${first}]); each key may be used once`,
          path: [index],
          params: TAG_CODE,
          input: entry,
        })
      }
    })
  }
}

const always = { when: () => true }

const listTypeError = (field: string) => (iss: { code: string; input?: unknown }) =>
  iss.code === 'invalid_type' ? `${field} must be an array, not ${describeType(iss.input)}` : undefined

export const Tags = z
  .array(TagString, { error: listTypeError('tags') })
  .superRefine(
    tagListCheck('tags', (t) => (typeof t === 'string' ? splitTag(t)?.key : undefined)),
    always,
  )
  .meta({
    description: `Image tags as "key.value" strings (split at the first "."): key 1 to ${TAG_KEY_MAX} and value 0 to ${TAG_VALUE_MAX} letters, digits, "_" or "-"; at most ${MAX_CALLER_TAGS}, no key twice. Send tags or image_tags, not both.`,
    example: ['aaa.111', 'bbb.333', 'ccc.444'],
    maxItems: MAX_CALLER_TAGS,
  })

export const ImageTags = z
  .array(ImageTag, { error: listTypeError('image_tags') })
  .superRefine(
    tagListCheck('image_tags', (t) => {
      const key = (t as { key?: unknown } | null)?.key
      return typeof key === 'string' ? key.trim() : undefined
    }),
    always,
  )
  .meta({
    description: `Image tags as {key, value} objects (leading and trailing spaces are trimmed): key 1 to ${TAG_KEY_MAX} and value 0 to ${TAG_VALUE_MAX} letters, digits, "_" or "-"; at most ${MAX_CALLER_TAGS}, no key twice. Send tags or image_tags, not both.`,
    example: [
      { key: 'key2', value: 'value2' },
      { key: 'key1', value: 'value1' },
    ],
    maxItems: MAX_CALLER_TAGS,
  })
