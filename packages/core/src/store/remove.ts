import { ImportStatus } from '../import-record.js'
import { runScript } from '../redis.js'
import { getImport } from './read.js'
import { scripts } from './scripts.js'
import type { StoreContext } from './types.js'

/** Removes a record and its index entries (remove-import.lua); a missing record is left alone. */
export async function removeImport(ctx: StoreContext, id: string): Promise<void> {
  const { redis, keys } = ctx
  const record = await getImport(ctx, id)
  if (record === null) return
  const statuses = ImportStatus.options
  const keyList = [
    keys.import(id),
    keys.tenantImports(record.tenant),
    ...statuses.map((s) => keys.statusImports(s)),
    ...statuses.map((s) => keys.tenantStatusImports(record.tenant, s)),
  ]
  let externalAt = 0
  let batchAt = 0
  if (record.external_id !== null)
    externalAt = keyList.push(keys.tenantExternalImports(record.tenant, record.external_id))
  if (record.batch_id !== null)
    batchAt = keyList.push(keys.batchImports(record.batch_id), keys.batchStatusCounts(record.batch_id)) - 1
  const targetAt = keyList.push(keys.tenantTargetImports(record.tenant, record.target))
  await runScript(redis, scripts.remove, keyList, [id, statuses.length, externalAt, batchAt, targetAt])
}
