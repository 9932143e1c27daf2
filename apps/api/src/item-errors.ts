import type { z } from 'zod'
import type { FieldError } from './problem.js'
import type { ItemErrors as ItemErrorsSchema } from './schemas.js'

type ItemErrors = z.infer<typeof ItemErrorsSchema>

/*
 * A batch's rejected items as stored (in the batch record and in its Idempotency-Key answer):
 * each distinct list of errors once, with the item indexes that had it, paths relative to the
 * item. 999 items refused for the same reason cost one group, not 999 copies: a hostile batch
 * costs a few KB of Redis instead of megabytes (issue 16; README, Redis sizing).
 */

/** Bytes of error text stored per batch at most; items past it keep a generic error only. */
export const STORED_ERRORS_MAX_BYTES = 16 * 1024

/** One group: item indexes as ranges ("0-997,999") and their errors (paths without `items[i]`). */
export type ItemErrorGroup = [ranges: string, errors: FieldError[]]

/** The error of an item whose details did not fit in STORED_ERRORS_MAX_BYTES. */
const NOT_KEPT: FieldError = {
  path: '',
  message:
    'this item was refused; its errors were not kept (the batch had too many different errors): the first answer listed them',
}

const itemPrefix = (index: number) => `items[${index}]`

function toRanges(indexes: number[]): string {
  const parts: string[] = []
  for (let i = 0; i < indexes.length; ) {
    let j = i
    while (j + 1 < indexes.length && (indexes[j + 1] as number) === (indexes[j] as number) + 1) j++
    parts.push(i === j ? `${indexes[i]}` : `${indexes[i]}-${indexes[j]}`)
    i = j + 1
  }
  return parts.join(',')
}

function fromRanges(ranges: string): number[] {
  const out: number[] = []
  for (const part of ranges.split(',')) {
    if (part === '') continue
    const [a, b = a] = part.split('-').map(Number) as [number, number?]
    for (let i = a; i <= (b as number); i++) out.push(i)
  }
  return out
}

/** Rejected items in their stored form (groups), bounded by STORED_ERRORS_MAX_BYTES. */
export function compactItemErrors(items: readonly ItemErrors[]): ItemErrorGroup[] {
  const groups = new Map<string, { indexes: number[]; errors: FieldError[] }>()
  const overflow: number[] = []
  let bytes = 0
  for (const item of items) {
    const prefix = itemPrefix(item.index)
    const errors = item.errors.map((e) => ({
      ...e,
      path: e.path.startsWith(prefix) ? `~${e.path.slice(prefix.length)}` : e.path,
    }))
    const key = JSON.stringify(errors)
    const group = groups.get(key)
    if (group) group.indexes.push(item.index)
    else if (bytes + key.length <= STORED_ERRORS_MAX_BYTES) {
      bytes += key.length
      groups.set(key, { indexes: [item.index], errors })
    } else overflow.push(item.index)
  }
  const out: ItemErrorGroup[] = [...groups.values()].map((g) => [toRanges(g.indexes), g.errors])
  if (overflow.length > 0) out.push([toRanges(overflow), [NOT_KEPT]])
  return out
}

/** The rejected items of stored groups, by index, each error's path as first answered. */
export function expandItemErrors(groups: readonly ItemErrorGroup[]): ItemErrors[] {
  const items: ItemErrors[] = []
  for (const [ranges, errors] of groups)
    for (const index of fromRanges(ranges))
      items.push({
        index,
        errors: errors.map((e) => ({
          ...e,
          path: e.path.startsWith('~') ? `${itemPrefix(index)}${e.path.slice(1)}` : e.path,
        })),
      })
  return items.sort((a, b) => a.index - b.index)
}

/** A batch's 202 answer as stored under its Idempotency-Key: `errors` in groups. */
export function compactAnswer(answer: { body: unknown }): unknown {
  const { errors, ...body } = answer.body as { errors: ItemErrors[] }
  return { ...answer, body: { ...body, error_groups: compactItemErrors(errors) } }
}

/** A stored batch answer as first sent; answers stored by earlier releases are returned as they are. */
export function expandAnswer(stored: unknown): unknown {
  const s = stored as { body?: { error_groups?: ItemErrorGroup[] } }
  if (!s?.body?.error_groups) return stored
  const { error_groups, ...body } = s.body
  return { ...s, body: { ...body, errors: expandItemErrors(error_groups) } }
}
