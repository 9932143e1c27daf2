import type { ImportPatch, ImportRecord, ImportStatus, NewImport } from './import-record.js'

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

/** Thrown when a write was based on a version that is no longer current (optimistic concurrency). */
export class VersionConflictError extends Error {
  constructor(
    readonly importId: string,
    readonly expected: number,
    readonly actual: number | null,
  ) {
    super(`import ${importId}: version conflict (expected ${expected}, found ${actual ?? 'none'})`)
    this.name = 'VersionConflictError'
  }
}

export class ImportNotFoundError extends Error {
  constructor(readonly importId: string) {
    super(`import ${importId} not found`)
    this.name = 'ImportNotFoundError'
  }
}

/**
 * A Redis hash written in the same atomic step as new records, or not at all (the API stores the
 * answer of an idempotent request beside the imports it answers). Its key must live under
 * KEY_PREFIX like every other key.
 */
export interface CompanionHash {
  key: string
  fields: Record<string, string>
  /** The hash expires after this long (ms). */
  ttlMs: number
}

/**
 * A check run in the same atomic script before records are created (the API takes a key's rate
 * limit and looks up its Idempotency-Key there). `lua` defines `local function guard(keys, args)`:
 * `keys` are `keys` below (KEYS[1..k], under KEY_PREFIX), `args` the arguments; it returns nil to
 * let the create go on, or a table: then nothing is written and the create throws
 * CreateRefusedError carrying that table.
 */
export interface CreateGuard {
  lua: string
  keys: string[]
  args: (string | number)[]
}

export interface CreateOptions {
  /** Built from the new records (their ids and timestamps are set by then) and written with them. */
  companion?: (records: ImportRecord[]) => CompanionHash
  guard?: CreateGuard
}

/** The Redis-backed store of import records. All keys live under KEY_PREFIX (one cluster slot). */
export interface ImportStore {
  /** Writes a new record (status queued) and its indexes atomically. Fails if the id exists. */
  create(input: NewImport, now?: Date, options?: CreateOptions): Promise<ImportRecord>
  /** Writes many new records in one round trip (a batch); same rules as create. */
  createMany(inputs: NewImport[], now?: Date, options?: CreateOptions): Promise<ImportRecord[]>
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
}
