/** An error about one stored import: its message starts with the import id, its name is its class's. */
abstract class StoredImportError extends Error {
  constructor(
    readonly importId: string,
    name: string,
    problem: string,
  ) {
    super(`import ${importId}${problem}`)
    this.name = name
  }
}

/** Thrown by create/createMany when an import id is already taken. */
export class ImportExistsError extends StoredImportError {
  constructor(importId: string) {
    super(importId, 'ImportExistsError', ' already exists')
  }
}

/** Thrown when a write was based on a version that is no longer current (optimistic concurrency). */
export class VersionConflictError extends StoredImportError {
  constructor(
    importId: string,
    readonly expected: number,
    readonly actual: number | null,
  ) {
    super(
      importId,
      'VersionConflictError',
      `: version conflict (expected ${expected}, found ${actual ?? 'none'})`,
    )
  }
}

export class ImportNotFoundError extends StoredImportError {
  constructor(importId: string) {
    super(importId, 'ImportNotFoundError', ' not found')
  }
}

/** A stored record that is not valid JSON or does not match the ImportRecord schema. */
export class CorruptImportRecordError extends StoredImportError {
  constructor(importId: string, detail: string) {
    super(importId, 'CorruptImportRecordError', `: stored record is corrupt: ${detail}`)
  }
}

/** A list cursor that this store did not issue, or one issued for a different set of filters. */
export class InvalidCursorError extends Error {
  constructor() {
    super('invalid cursor')
    this.name = 'InvalidCursorError'
  }
}
