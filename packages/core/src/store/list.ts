import { z } from 'zod'
import type { ImportRecord } from '../import-record.js'
import { runScript } from '../redis.js'
import { InvalidCursorError } from './errors.js'
import { getImports } from './read.js'
import { scripts } from './scripts.js'
import type { ImportPage, ListImportsQuery, StoreContext } from './types.js'

const DEFAULT_LIST_LIMIT = 50
const MAX_LIST_LIMIT = 500
export const DEFAULT_SCAN_BUDGET = 10_000
/** Index entries read per round trip when a list filter is not answered by an index. */
const SCAN_CHUNK = 250

/** Which index a list walks; part of the cursor so a cursor cannot be replayed on another. */
type ListSource = 'tenant' | 'status' | 'external' | 'batch' | 'target'

const Cursor = z.object({
  k: z.enum(['tenant', 'status', 'external', 'batch', 'target']),
  s: z.string(),
  i: z.string(),
})
type Cursor = z.infer<typeof Cursor>

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url')
}

function decodeCursor(raw: string, source: ListSource): Cursor {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'))
  } catch {
    throw new InvalidCursorError()
  }
  const result = Cursor.safeParse(parsed)
  if (!result.success || result.data.k !== source || !/^-?\d+(\.\d+)?$/.test(result.data.s)) {
    throw new InvalidCursorError()
  }
  return result.data
}

/** How a query is answered: the index walked, and whether it alone answers the query. */
interface ListPlan {
  source: ListSource
  index: string
  /** True when every entry of the index matches: then no entry read is wasted. */
  exact: boolean
}

/** The narrowest index that answers part of the query; the rest is filtered on the records. */
function planList({ keys }: StoreContext, query: ListImportsQuery): ListPlan {
  const { tenant, status, target, external_id, batch_id } = query
  if (external_id !== undefined)
    return {
      source: 'external',
      index: keys.tenantExternalImports(tenant, external_id),
      exact: target === undefined && status === undefined && batch_id === undefined,
    }
  // A batch is bounded (one request's items), unlike a tenant's status set.
  if (batch_id !== undefined) return { source: 'batch', index: keys.batchImports(batch_id), exact: false }
  if (status !== undefined)
    return { source: 'status', index: keys.tenantStatusImports(tenant, status), exact: target === undefined }
  if (target !== undefined)
    return { source: 'target', index: keys.tenantTargetImports(tenant, target), exact: true }
  return { source: 'tenant', index: keys.tenantImports(tenant), exact: true }
}

const matches = (query: ListImportsQuery, r: ImportRecord): boolean =>
  r.tenant === query.tenant &&
  (query.status === undefined || r.status === query.status) &&
  (query.target === undefined || r.target === query.target) &&
  (query.external_id === undefined || r.external_id === query.external_id) &&
  (query.batch_id === undefined || r.batch_id === query.batch_id)

/** ImportStore.list: walks the plan's index newest first, a page (or a scan budget) at a time. */
export async function listImports(
  ctx: StoreContext,
  query: ListImportsQuery,
  scanBudget: number,
): Promise<ImportPage> {
  const limit = query.limit ?? DEFAULT_LIST_LIMIT
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new RangeError(`limit must be an integer from 1 to ${MAX_LIST_LIMIT}, got ${limit}`)
  }
  const { source, index, exact } = planList(ctx, query)
  let after = query.cursor !== undefined ? decodeCursor(query.cursor, source) : null
  const items: ImportRecord[] = []
  let examined = 0
  for (;;) {
    // Reading one entry more than is needed tells whether a further page exists.
    const want = limit - items.length + 1
    const count = exact ? want : Math.max(want, SCAN_CHUNK)
    const flat = (await runScript(
      ctx.redis,
      scripts.page,
      [index],
      [count, after?.s ?? '', after?.i ?? ''],
    )) as string[]
    const entries: { id: string; score: string }[] = []
    for (let i = 0; i + 1 < flat.length; i += 2) {
      entries.push({ id: flat[i] as string, score: flat[i + 1] as string })
    }
    const records = await getImports(
      ctx,
      entries.map((e) => e.id),
    )
    // An entry without its record is one whose record expired (docs/retention.md): it goes from
    // the index walked now; the retention sweep removes it from the others. Not from a batch's
    // set: the sweep takes it out there together with the batch's count of its status.
    const stale = source === 'batch' ? [] : entries.filter((_, i) => records[i] === null).map((e) => e.id)
    if (stale.length > 0) await ctx.redis.zrem(index, ...stale)
    for (const [i, entry] of entries.entries()) {
      if (items.length === limit) {
        // Entries remain after a full page: the cursor is the last item returned.
        return { items, next_cursor: after ? encodeCursor(after) : null }
      }
      after = { k: source, s: entry.score, i: entry.id }
      examined++
      const record = records[i]
      if (record && matches(query, record)) items.push(record)
    }
    if (entries.length < count) return { items, next_cursor: null }
    if (examined >= scanBudget) return { items, next_cursor: after ? encodeCursor(after) : null }
  }
}
