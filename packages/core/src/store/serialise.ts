import { z } from 'zod'
import { ImportRecord } from '../import-record.js'
import { CorruptImportRecordError } from './errors.js'

/** A stored record's JSON, checked against the schema. */
export function parseRecord(id: string, raw: string): ImportRecord {
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
export function serialise(record: ImportRecord): string {
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
export function serialiseNew(record: ImportRecord): string {
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
export const createdScore = (record: ImportRecord): number => Date.parse(record.created_at)
