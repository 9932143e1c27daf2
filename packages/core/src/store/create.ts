import { type ImportRecord, type NewImport, newImportRecord } from '../import-record.js'
import type { Keys } from '../keys.js'
import { runScript } from '../redis.js'
import { ImportExistsError } from './errors.js'
import { scripts } from './scripts.js'
import { createdScore, serialiseNew } from './serialise.js'
import type { StoreContext } from './types.js'

/**
 * The records of new imports (status queued), after the checks that refuse a request before
 * anything is written: a bad batch_index, an id given twice.
 */
export function newImportRecords(inputs: NewImport[], now: Date): ImportRecord[] {
  const seen = new Set<string>()
  for (const input of inputs) {
    const index = input.batch_index
    if (index !== undefined && !(Number.isSafeInteger(index) && index >= 0))
      throw new Error(`import ${input.id}: batch_index must be a whole number >= 0`)
    if (seen.has(input.id)) throw new ImportExistsError(input.id)
    seen.add(input.id)
  }
  return inputs.map((input) => newImportRecord(input, now))
}

/**
 * The ARGV of new records in write-imports.lua's layout; their keys are appended to `keyList`
 * (after any the calling script takes first). Keys that records share (a tenant's three indexes,
 * a batch's two keys) are appended once and referred to by position.
 */
export function newImportArgs(
  keys: Keys,
  inputs: NewImport[],
  records: ImportRecord[],
  keyList: string[],
): (string | number)[] {
  const shared = new Map<string, number>()
  const place = (group: string, ...groupKeys: string[]): number => {
    let at = shared.get(group)
    if (at === undefined) {
      at = keyList.length + 1 // Lua arrays start at 1
      keyList.push(...groupKeys)
      shared.set(group, at)
    }
    return at
  }
  const args: (string | number)[] = [records.length]
  for (const [i, r] of records.entries()) {
    const recordAt = keyList.push(keys.import(r.id))
    const indexesAt = place(
      `tenant\n${r.tenant}\n${r.status}`,
      keys.tenantImports(r.tenant),
      keys.statusImports(r.status),
      keys.tenantStatusImports(r.tenant, r.status),
    )
    const batchAt =
      r.batch_id === null
        ? 0
        : place(`batch\n${r.batch_id}`, keys.batchImports(r.batch_id), keys.batchStatusCounts(r.batch_id))
    const externalAt =
      r.external_id === null
        ? 0
        : place(
            `external\n${r.tenant}\n${r.external_id}`,
            keys.tenantExternalImports(r.tenant, r.external_id),
          )
    const targetAt = place(`target\n${r.tenant}\n${r.target}`, keys.tenantTargetImports(r.tenant, r.target))
    args.push(
      serialiseNew(r),
      createdScore(r),
      r.id,
      inputs[i]?.batch_index ?? '',
      recordAt,
      indexesAt,
      batchAt,
      externalAt,
      targetAt,
    )
  }
  return args
}

/** Writes new records and their indexes in one script, or nothing when any id exists. */
export async function createMany(
  { redis, keys }: StoreContext,
  inputs: NewImport[],
  now: Date = new Date(),
): Promise<ImportRecord[]> {
  if (inputs.length === 0) return []
  const records = newImportRecords(inputs, now)
  const keyList: string[] = []
  const args = newImportArgs(keys, inputs, records, keyList)
  const reply = (await runScript(redis, scripts.create, keyList, args)) as string[]
  if (reply[0] === 'exists') throw new ImportExistsError(String(reply[1]))
  return records
}
