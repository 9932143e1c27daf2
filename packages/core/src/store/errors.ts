/** Thrown by create/createMany when an import id is already taken. */
export class ImportExistsError extends Error {
  constructor(readonly importId: string) {
    super(`import ${importId} already exists`)
    this.name = 'ImportExistsError'
  }
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
