import type { ImportRecord } from '../import-record.js'
import { parseRecord } from './serialise.js'
import type { StoreContext } from './types.js'

export async function getImport({ redis, keys }: StoreContext, id: string): Promise<ImportRecord | null> {
  const raw = await redis.get(keys.import(id))
  return raw === null ? null : parseRecord(id, raw)
}

export async function getImports(
  { redis, keys }: StoreContext,
  ids: string[],
): Promise<(ImportRecord | null)[]> {
  if (ids.length === 0) return []
  const raws = await redis.mget(ids.map((id) => keys.import(id)))
  return ids.map((id, i) => {
    const raw = raws[i]
    return raw == null ? null : parseRecord(id, raw)
  })
}
