import { z } from 'zod'
import {
  transition as applyTransition,
  ImportRecord,
  ImportStatus,
  type NewImport,
  newImportRecord,
} from './import-record.js'
import {
  type CreateOptions,
  ImportNotFoundError,
  type ImportPage,
  type ImportStore,
  type ListImportsQuery,
  VersionConflictError,
} from './import-store-types.js'
import { keys } from './keys.js'
import { type LuaScript, luaScript, type Redis, runScript } from './redis.js'

/** The store's index keys; defined in keys.ts with the rest of the persistent key layout. */
export const importStoreKeys = {
  tenantStatusImports: keys.tenantStatusImports,
  tenantExternalImports: keys.tenantExternalImports,
  batchStatusCounts: keys.batchStatusCounts,
} as const

/** Thrown by create/createMany when an import id is already taken. */
export class ImportExistsError extends Error {
  constructor(readonly importId: string) {
    super(`import ${importId} already exists`)
    this.name = 'ImportExistsError'
  }
}

/** Thrown by a guarded create when its guard refused: nothing was written; `reply` is what the guard returned. */
export class CreateRefusedError extends Error {
  constructor(readonly reply: unknown[]) {
    super('the create guard refused; nothing was written')
    this.name = 'CreateRefusedError'
  }
}

/** A stored record that is not valid JSON or does not match the ImportRecord schema. */
export class CorruptImportRecordError extends Error {
  constructor(
    readonly importId: string,
    detail: string,
  ) {
    super(`import ${importId}: stored record is corrupt: ${detail}`)
    this.name = 'CorruptImportRecordError'
  }
}

/** A list cursor that this store did not issue, or one issued for a different set of filters. */
export class InvalidCursorError extends Error {
  constructor() {
    super('invalid cursor')
    this.name = 'InvalidCursorError'
  }
}

export interface ImportStoreOptions {
  /**
   * Most index entries one `list` call examines when filtering by target or batch_id beyond
   * what an index answers; past it the page comes back short, with a cursor to go on.
   */
  listScanBudget?: number
}

// ---------------------------------------------------------------------------------------------
// Lua scripts. Every key a script touches arrives in KEYS (cluster rule); ARGV carries indexes
// into KEYS where the key set varies per record.
// ---------------------------------------------------------------------------------------------

/**
 * Creates N records atomically, or none when any id exists.
 * ARGV[o + 1] = N, then per record 10 fields: json, score, id, recordKey#, tenantKey#, statusKey#,
 * tenantStatusKey#, batchKey# (0 = none), externalKey# (0 = none), the record's index in its
 * batch ('' = after the batch's last). A batch record also counts itself as queued in
 * KEYS[batchKey# + 1] (its status-counts hash; one HINCRBY per batch). Then a companion hash:
 * key# (0 = none), ttl ms, field count, then field, value pairs; written with the records.
 * `o` is 0, or the ARGV taken by a guard (see createLua).
 */
const CREATE_BODY_LUA = `
local n = tonumber(ARGV[o + 1])
for i = 0, n - 1 do
  local b = o + 1 + i * 10
  if redis.call('EXISTS', KEYS[tonumber(ARGV[b + 4])]) == 1 then return {'exists', ARGV[b + 3]} end
end
local queued = {}
for i = 0, n - 1 do
  local b = o + 1 + i * 10
  local json, score, id = ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  redis.call('SET', KEYS[tonumber(ARGV[b + 4])], json)
  redis.call('ZADD', KEYS[tonumber(ARGV[b + 5])], score, id)
  redis.call('ZADD', KEYS[tonumber(ARGV[b + 6])], score, id)
  redis.call('ZADD', KEYS[tonumber(ARGV[b + 7])], score, id)
  local batch = tonumber(ARGV[b + 8])
  if batch > 0 then
    -- scored by item index; without one, the batch's append order
    local index = ARGV[b + 10]
    if index == '' then index = redis.call('ZCARD', KEYS[batch]) end
    redis.call('ZADD', KEYS[batch], 'NX', index, id)
    queued[batch + 1] = (queued[batch + 1] or 0) + 1
  end
  local ext = tonumber(ARGV[b + 9])
  if ext > 0 then redis.call('ZADD', KEYS[ext], score, id) end
end
for counts, added in pairs(queued) do redis.call('HINCRBY', KEYS[counts], 'queued', added) end
local c = o + 2 + n * 10
local companion = tonumber(ARGV[c])
if companion > 0 then
  local fields = tonumber(ARGV[c + 2])
  redis.call('HSET', KEYS[companion], unpack(ARGV, c + 3, c + 2 + fields * 2))
  redis.call('PEXPIRE', KEYS[companion], ARGV[c + 1])
end
return {'ok'}
`

/**
 * The create script, with a guard run first when given: the guard's Lua defines
 * `local function guard(keys, args)`; it gets KEYS[1..k] (its keys come first) and its own
 * arguments as tables, and returns nil to go on or a table to return as {'refused', ...} with
 * nothing created. ARGV[1] = k, ARGV[2] = the guard's argument count g, ARGV[3..g + 2] its arguments.
 */
function createLua(guardLua: string | null): string {
  if (guardLua === null) return `local o = 0\n${CREATE_BODY_LUA}`
  return `${guardLua}
local gkeys, gargs = {}, {}
for i = 1, tonumber(ARGV[1]) do gkeys[i] = KEYS[i] end
local g = tonumber(ARGV[2])
for i = 1, g do gargs[i] = ARGV[2 + i] end
local refused = guard(gkeys, gargs)
if refused then return {'refused', unpack(refused)} end
local o = 2 + g
${CREATE_BODY_LUA}`
}

/**
 * Compare-and-set of one record on its version, moving its id between status indexes.
 * KEYS: record, old status, new status, old tenant status, new tenant status, [batch counts]
 * ARGV: expected version, json, score, id, old status, new status
 */
const TRANSITION_LUA = `
local cur = redis.call('GET', KEYS[1])
if not cur then return {'missing'} end
local ok, rec = pcall(cjson.decode, cur)
if not ok or type(rec) ~= 'table' then return {'corrupt'} end
if rec.version ~= tonumber(ARGV[1]) then return {'conflict', tostring(rec.version)} end
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[5] ~= ARGV[6] then
  redis.call('ZREM', KEYS[2], ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
  redis.call('ZREM', KEYS[4], ARGV[4])
  redis.call('ZADD', KEYS[5], ARGV[3], ARGV[4])
  if KEYS[6] then
    redis.call('HINCRBY', KEYS[6], ARGV[5], -1)
    redis.call('HINCRBY', KEYS[6], ARGV[6], 1)
  end
end
return {'ok'}
`

/**
 * Removes a record and every index entry. The status comes from the stored record, so a
 * concurrent transition cannot leave a stale status entry behind: the id is removed from all
 * status sets.
 * KEYS: record, tenant, 7 status sets, 7 tenant status sets, [external], [batch, batch counts]
 * ARGV: id, external key# (0 = none), batch key# (0 = none)
 */
const REMOVE_LUA = `
local cur = redis.call('GET', KEYS[1])
local status = nil
if cur then
  local ok, rec = pcall(cjson.decode, cur)
  if ok and type(rec) == 'table' then status = rec.status end
end
redis.call('DEL', KEYS[1])
for i = 2, 16 do redis.call('ZREM', KEYS[i], ARGV[1]) end
local ext, batch = tonumber(ARGV[2]), tonumber(ARGV[3])
if ext > 0 then redis.call('ZREM', KEYS[ext], ARGV[1]) end
if batch > 0 then
  local removed = redis.call('ZREM', KEYS[batch], ARGV[1])
  if removed == 1 and type(status) == 'string' then redis.call('HINCRBY', KEYS[batch + 1], status, -1) end
end
if cur then return 1 end
return 0
`

/**
 * One page of an index, newest first, after the cursor (score, id). Returns id, score, ...
 * While the cursor's member is still indexed its rank locates the page (O(log N + page)); when
 * it was removed, members with the same score are compared byte-wise (Redis orders equal scores
 * that way; Lua's own string '<' follows the server locale, so it is not used).
 * KEYS: index. ARGV: count, cursor score ('' = from the start), cursor id
 */
const PAGE_LUA = `
local key, count = KEYS[1], tonumber(ARGV[1])
if ARGV[2] == '' then return redis.call('ZREVRANGE', key, 0, count - 1, 'WITHSCORES') end
local s, id = ARGV[2], ARGV[3]
local rank = redis.call('ZREVRANK', key, id)
if rank and tonumber(redis.call('ZSCORE', key, id)) == tonumber(s) then
  return redis.call('ZREVRANGE', key, rank + 1, rank + count, 'WITHSCORES')
end
local function before(a, b)
  local la, lb = #a, #b
  for i = 1, math.min(la, lb) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return la < lb
end
local out = {}
local ties = redis.call('ZRANGEBYSCORE', key, s, s)
for i = #ties, 1, -1 do
  if #out >= count * 2 then return out end
  if before(ties[i], id) then
    out[#out + 1] = ties[i]
    out[#out + 1] = s
  end
end
local left = count - #out / 2
if left <= 0 then return out end
local rest = redis.call('ZREVRANGEBYSCORE', key, '(' .. s, '-inf', 'WITHSCORES', 'LIMIT', 0, left)
for i = 1, #rest do out[#out + 1] = rest[i] end
return out
`

const scripts = {
  create: luaScript(createLua(null)),
  transition: luaScript(TRANSITION_LUA),
  remove: luaScript(REMOVE_LUA),
  page: luaScript(PAGE_LUA),
} as const

/** Guarded create scripts by guard text (a process uses one or two guards). */
const guardedCreate = new Map<string, LuaScript>()
const guardedCreateScript = (guardLua: string): LuaScript => {
  let s = guardedCreate.get(guardLua)
  if (!s) {
    s = luaScript(createLua(guardLua))
    guardedCreate.set(guardLua, s)
  }
  return s
}

// ---------------------------------------------------------------------------------------------

const DEFAULT_LIST_LIMIT = 50
const MAX_LIST_LIMIT = 500
const DEFAULT_SCAN_BUDGET = 10_000
/** Index entries read per round trip when a list filter is not answered by an index. */
const SCAN_CHUNK = 250
const DEFAULT_UPDATE_RETRIES = 25
const DEFAULT_IDS_BY_STATUS_LIMIT = 1000

/** Which index a list walks; part of the cursor so a cursor cannot be replayed on another. */
type ListSource = 'tenant' | 'status' | 'external' | 'batch'

const Cursor = z.object({
  k: z.enum(['tenant', 'status', 'external', 'batch']),
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

function parseRecord(id: string, raw: string): ImportRecord {
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch {
    throw new CorruptImportRecordError(id, 'not JSON')
  }
  const result = ImportRecord.safeParse(json)
  if (!result.success) throw new CorruptImportRecordError(id, z.prettifyError(result.error))
  return result.data
}

/** Serialises a record after checking it against the schema, so nothing corrupt is ever written. */
function serialise(record: ImportRecord): string {
  const result = ImportRecord.safeParse(record)
  if (!result.success) {
    throw new Error(
      `import ${record.id}: refusing to write an invalid record: ${z.prettifyError(result.error)}`,
    )
  }
  return JSON.stringify(result.data)
}

const isStringOrNull = (v: unknown): boolean => v === null || typeof v === 'string'

/**
 * serialise() for a record just built by newImportRecord: valid by construction once its inputs
 * have the types the schema asks for, which is checked here in place of a full schema parse
 * (the intake's hot path writes up to 1000 of these per request).
 */
function serialiseNew(record: ImportRecord): string {
  const { id, tenant, target, request, external_id, batch_id, callback_url } = record
  const typesOk =
    typeof id === 'string' &&
    typeof tenant === 'string' &&
    typeof target === 'string' &&
    typeof request === 'object' &&
    request !== null &&
    !Array.isArray(request) &&
    isStringOrNull(external_id) &&
    isStringOrNull(batch_id) &&
    isStringOrNull(callback_url)
  if (!typesOk)
    throw new Error(
      `import ${String(id)}: refusing to write an invalid record: id, tenant and target must be strings, request an object, external_id, batch_id and callback_url strings or null`,
    )
  return JSON.stringify(record)
}

/** Sorted-set score of a record: its creation time in ms. */
const createdScore = (record: ImportRecord): number => Date.parse(record.created_at)

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

function emptyCounts(): Record<ImportStatus, number> {
  return Object.fromEntries(ImportStatus.options.map((s) => [s, 0])) as Record<ImportStatus, number>
}

/**
 * The Redis-backed import store. Records are JSON strings under `keys.import(id)`; indexes are
 * sorted sets scored by creation time (ms). Writes are Lua scripts, so a record and its
 * indexes always change together, and a transition is a compare-and-set on `version`.
 */
export function createImportStore(redis: Redis, options: ImportStoreOptions = {}): ImportStore {
  const scanBudget = options.listScanBudget ?? DEFAULT_SCAN_BUDGET

  async function createMany(
    inputs: NewImport[],
    now: Date = new Date(),
    options: CreateOptions = {},
  ): Promise<ImportRecord[]> {
    if (inputs.length === 0) return []
    // Refused before anything is written: a bad batch_index, an id given twice.
    const seen = new Set<string>()
    for (const input of inputs) {
      const index = input.batch_index
      if (index !== undefined && !(Number.isSafeInteger(index) && index >= 0))
        throw new Error(`import ${input.id}: batch_index must be a whole number >= 0`)
      if (seen.has(input.id)) throw new ImportExistsError(input.id)
      seen.add(input.id)
    }
    const records = inputs.map((input) => newImportRecord(input, now))
    // Shared keys (tenant, status, batch) are passed once; ARGV refers to them by position.
    // A guard's keys come first, in its order.
    const guard = options.guard
    const keyList: string[] = guard ? [...guard.keys] : []
    const keyIndex = new Map<string, number>(keyList.map((k, i) => [k, i + 1]))
    const ref = (key: string): number => {
      let i = keyIndex.get(key)
      if (i === undefined) {
        keyList.push(key)
        i = keyList.length // Lua arrays start at 1
        keyIndex.set(key, i)
      }
      return i
    }
    const args: (string | number)[] = guard
      ? [guard.keys.length, guard.args.length, ...guard.args, records.length]
      : [records.length]
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as ImportRecord
      let batch = 0
      if (r.batch_id !== null) {
        batch = ref(keys.batchImports(r.batch_id))
        // The counts hash must sit right after its batch set; a batch seen before already has it.
        ref(importStoreKeys.batchStatusCounts(r.batch_id))
      }
      args.push(
        serialiseNew(r),
        createdScore(r),
        r.id,
        ref(keys.import(r.id)),
        ref(keys.tenantImports(r.tenant)),
        ref(keys.statusImports(r.status)),
        ref(importStoreKeys.tenantStatusImports(r.tenant, r.status)),
        batch,
        r.external_id !== null ? ref(importStoreKeys.tenantExternalImports(r.tenant, r.external_id)) : 0,
        inputs[i]?.batch_index ?? '',
      )
    }
    const companion = options.companion?.(records)
    if (companion) {
      const at = args.length
      args.push(ref(companion.key), companion.ttlMs, 0)
      for (const field in companion.fields) args.push(field, companion.fields[field] as string)
      args[at + 2] = (args.length - at - 3) / 2
    } else args.push(0)
    const s = guard ? guardedCreateScript(guard.lua) : scripts.create
    const reply = (await runScript(redis, s, keyList, args)) as string[]
    if (reply[0] === 'refused') throw new CreateRefusedError(reply.slice(1))
    if (reply[0] === 'exists') throw new ImportExistsError(String(reply[1]))
    return records
  }

  async function get(id: string): Promise<ImportRecord | null> {
    const raw = await redis.get(keys.import(id))
    return raw === null ? null : parseRecord(id, raw)
  }

  async function getMany(ids: string[]): Promise<(ImportRecord | null)[]> {
    if (ids.length === 0) return []
    const raws = await redis.mget(ids.map((id) => keys.import(id)))
    return ids.map((id, i) => {
      const raw = raws[i]
      return raw == null ? null : parseRecord(id, raw)
    })
  }

  /** Writes `next` over `current` if the stored version is still `current.version`. */
  async function compareAndSet(current: ImportRecord, next: ImportRecord): Promise<void> {
    const from = current.status
    const to = next.status
    const keyList = [
      keys.import(current.id),
      keys.statusImports(from),
      keys.statusImports(to),
      importStoreKeys.tenantStatusImports(current.tenant, from),
      importStoreKeys.tenantStatusImports(current.tenant, to),
    ]
    if (current.batch_id !== null) keyList.push(importStoreKeys.batchStatusCounts(current.batch_id))
    const reply = (await runScript(redis, scripts.transition, keyList, [
      current.version,
      serialise(next),
      createdScore(current),
      current.id,
      from,
      to,
    ])) as string[]
    switch (reply[0]) {
      case 'ok':
        return
      case 'missing':
        throw new ImportNotFoundError(current.id)
      case 'conflict': {
        const actual = Number(reply[1])
        throw new VersionConflictError(current.id, current.version, Number.isFinite(actual) ? actual : null)
      }
      default:
        throw new CorruptImportRecordError(current.id, 'not JSON')
    }
  }

  const store: ImportStore = {
    create: async (input, now, options) => {
      const [record] = await createMany([input], now, options)
      if (!record) throw new Error('unreachable: createMany returned no record')
      return record
    },

    createMany,
    get,
    getMany,

    async transition(id, to, patch = {}, opts = {}) {
      const current = await get(id)
      if (!current) throw new ImportNotFoundError(id)
      if (opts.expectedVersion !== undefined && opts.expectedVersion !== current.version) {
        throw new VersionConflictError(id, opts.expectedVersion, current.version)
      }
      const next = applyTransition(current, to, patch, { now: opts.now, reason: opts.reason })
      await compareAndSet(current, next)
      return next
    },

    async update(id, fn, opts = {}) {
      const maxRetries = opts.maxRetries ?? DEFAULT_UPDATE_RETRIES
      for (let attempt = 0; ; attempt++) {
        const current = await get(id)
        if (!current) throw new ImportNotFoundError(id)
        const change = fn(current)
        if (change === null) return null
        const next = applyTransition(current, change.to, change.patch, {
          now: opts.now,
          reason: change.reason,
        })
        try {
          await compareAndSet(current, next)
          return next
        } catch (err) {
          if (!(err instanceof VersionConflictError) || attempt >= maxRetries) throw err
          // Jittered so that writers that collided once do not collide again in lockstep.
          await sleep(Math.random() * Math.min(2 + attempt * 2, 20))
        }
      }
    },

    async list(query: ListImportsQuery): Promise<ImportPage> {
      const limit = query.limit ?? DEFAULT_LIST_LIMIT
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
        throw new RangeError(`limit must be an integer from 1 to ${MAX_LIST_LIMIT}, got ${limit}`)
      }
      // The narrowest index that answers part of the query; the rest is filtered on the records.
      let source: ListSource
      let index: string
      if (query.external_id !== undefined) {
        source = 'external'
        index = importStoreKeys.tenantExternalImports(query.tenant, query.external_id)
      } else if (query.batch_id !== undefined) {
        // A batch is bounded (one request's items), unlike a tenant's status set.
        source = 'batch'
        index = keys.batchImports(query.batch_id)
      } else if (query.status !== undefined) {
        source = 'status'
        index = importStoreKeys.tenantStatusImports(query.tenant, query.status)
      } else {
        source = 'tenant'
        index = keys.tenantImports(query.tenant)
      }
      const matches = (r: ImportRecord): boolean =>
        r.tenant === query.tenant &&
        (query.status === undefined || r.status === query.status) &&
        (query.target === undefined || r.target === query.target) &&
        (query.external_id === undefined || r.external_id === query.external_id) &&
        (query.batch_id === undefined || r.batch_id === query.batch_id)

      // True when the index alone answers the query: then no entry read is wasted.
      const exact =
        source !== 'batch' &&
        query.target === undefined &&
        (source !== 'tenant' || query.status === undefined) &&
        (source !== 'external' || (query.status === undefined && query.batch_id === undefined))

      let after = query.cursor !== undefined ? decodeCursor(query.cursor, source) : null
      const items: ImportRecord[] = []
      let examined = 0
      for (;;) {
        // Reading one entry more than is needed tells whether a further page exists.
        const want = limit - items.length + 1
        const count = exact ? want : Math.max(want, SCAN_CHUNK)
        const flat = (await runScript(
          redis,
          scripts.page,
          [index],
          [count, after?.s ?? '', after?.i ?? ''],
        )) as string[]
        const entries: { id: string; score: string }[] = []
        for (let i = 0; i + 1 < flat.length; i += 2) {
          entries.push({ id: flat[i] as string, score: flat[i + 1] as string })
        }
        const records = await getMany(entries.map((e) => e.id))
        for (const [i, entry] of entries.entries()) {
          if (items.length === limit) {
            // Entries remain after a full page: the cursor is the last item returned.
            return { items, next_cursor: after ? encodeCursor(after) : null }
          }
          after = { k: source, s: entry.score, i: entry.id }
          examined++
          const record = records[i]
          // A missing record is an index entry whose record is being removed right now.
          if (record && matches(record)) items.push(record)
        }
        if (entries.length < count) return { items, next_cursor: null }
        if (examined >= scanBudget) return { items, next_cursor: after ? encodeCursor(after) : null }
      }
    },

    async idsByStatus(status, limit = DEFAULT_IDS_BY_STATUS_LIMIT, offset = 0) {
      if (limit <= 0) return []
      return redis.zrange(keys.statusImports(status), offset, offset + limit - 1)
    },

    async countByStatusForBatch(batchId) {
      const raw = await redis.hgetall(importStoreKeys.batchStatusCounts(batchId))
      const counts = emptyCounts()
      for (const status of ImportStatus.options) counts[status] = Number(raw[status] ?? 0)
      return counts
    },

    async remove(id) {
      const raw = await redis.get(keys.import(id))
      if (raw === null) return
      const record = parseRecord(id, raw)
      const keyList = [
        keys.import(id),
        keys.tenantImports(record.tenant),
        ...ImportStatus.options.map((s) => keys.statusImports(s)),
        ...ImportStatus.options.map((s) => importStoreKeys.tenantStatusImports(record.tenant, s)),
      ]
      let ext = 0
      let batch = 0
      if (record.external_id !== null) {
        keyList.push(importStoreKeys.tenantExternalImports(record.tenant, record.external_id))
        ext = keyList.length
      }
      if (record.batch_id !== null) {
        keyList.push(keys.batchImports(record.batch_id), importStoreKeys.batchStatusCounts(record.batch_id))
        batch = keyList.length - 1
      }
      await runScript(redis, scripts.remove, keyList, [id, ext, batch])
    },
  }
  return store
}
