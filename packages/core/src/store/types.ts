import type { ImportPatch, ImportRecord, ImportStatus, NewImport } from '../import-record.js'
import type { Keys } from '../keys.js'
import type { Redis } from '../redis.js'

export interface ListImportsQuery {
  tenant: string
  status?: ImportStatus
  target?: string
  external_id?: string
  batch_id?: string
  /** 1..500, default 50 */
  limit?: number
  /** Opaque cursor from a previous page's `next_cursor`. */
  cursor?: string
}

export interface ImportPage {
  items: ImportRecord[]
  next_cursor: string | null
}

export interface ImportStoreOptions {
  /** The namespace of every key (default: the production `{ims}` one). */
  keys?: Keys
  /**
   * Most index entries one `list` call examines when filtering by target or batch_id beyond
   * what an index answers; past it the page comes back short, with a cursor to go on.
   */
  listScanBudget?: number
  /**
   * How long a final import (its record, index entries and batch) is kept after it became
   * final, in ms (RETENTION_DAYS; default 30 days; docs/retention.md).
   */
  retentionMs?: number
}

/** The Redis-backed store of import records. All keys live under one namespace (one cluster slot). */
export interface ImportStore {
  /** The namespace the store's keys are in. */
  keys: Keys
  /** Writes a new record (status queued) and its indexes atomically. Fails if the id exists. */
  create(input: NewImport, now?: Date): Promise<ImportRecord>
  /** Writes many new records in one round trip (a batch); same rules as create. */
  createMany(inputs: NewImport[], now?: Date): Promise<ImportRecord[]>
  get(id: string): Promise<ImportRecord | null>
  /** Many records in one round trip; missing ids give null at their position. */
  getMany(ids: string[]): Promise<(ImportRecord | null)[]>
  /**
   * Moves a record with `transition()` and writes it only if its version is still
   * `expectedVersion` (default: the version just read). Throws IllegalTransitionError,
   * VersionConflictError or ImportNotFoundError.
   */
  transition(
    id: string,
    to: ImportStatus,
    patch?: ImportPatch,
    options?: { expectedVersion?: number; reason?: string; now?: Date },
  ): Promise<ImportRecord>
  /**
   * Read-modify-write with retry on version conflicts: `fn` gets the current record and
   * returns the next status and patch, or null to leave it alone.
   */
  update(
    id: string,
    fn: (current: ImportRecord) => { to: ImportStatus; patch?: ImportPatch; reason?: string } | null,
    options?: { maxRetries?: number; now?: Date },
  ): Promise<ImportRecord | null>
  /** A tenant's imports, newest first, filtered, with a cursor. */
  list(query: ListImportsQuery): Promise<ImportPage>
  /** Ids of all imports currently in a status (any tenant), oldest first; for the reconciler. */
  idsByStatus(status: ImportStatus, limit?: number, offset?: number): Promise<string[]>
  /** Count of imports per status for a batch. */
  countByStatusForBatch(batchId: string): Promise<Record<ImportStatus, number>>
  /** Removes a record and its index entries (used when an enqueue fails right after create). */
  remove(id: string): Promise<void>
  /**
   * The retention sweep (docs/retention.md): removes up to `limit` due records and batches with
   * every index entry of them, and gives retention to up to `backfill` final records of each
   * final status that have none (written before retention existed).
   */
  sweepRetention(options?: {
    limit?: number
    backfill?: number
  }): Promise<{ expired: number; retained: number }>
}

/** What every part of the store works with: its connection and its namespace. */
export interface StoreContext {
  redis: Redis
  keys: Keys
  /** How long a final record is kept (ms). */
  retentionMs: number
}
