import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import type { FieldError, ImportRequest } from '@ims-importer/api-client'
import { contentHash } from './chunk-keys.js'
import { parseCsvRecords } from './csv.js'
import { UserError } from './user-error.js'

export type ItemsFormat = 'jsonl' | 'csv'

/** One item of the input file with the line it came from (1-based). */
export interface FileItem {
  line: number
  body: ImportRequest
}

/** A line refused before or by the API, with the reasons. */
export interface RejectedLine {
  line: number
  errors: FieldError[]
}

export interface ParsedItems {
  items: FileItem[]
  rejected: RejectedLine[]
}

export interface ItemsFile extends ParsedItems {
  format: ItemsFormat
  /** sha256 of the file's bytes: the root of the chunk idempotency keys. */
  contentHash: string
}

export function formatFromPath(path: string): ItemsFormat {
  const ext = extname(path).toLowerCase()
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl'
  if (ext === '.csv') return 'csv'
  throw new UserError(`cannot tell the format of ${path}: name it .jsonl or .csv, or pass --format jsonl|csv`)
}

export async function readItemsFile(path: string, format?: ItemsFormat): Promise<ItemsFile> {
  const kind = format ?? formatFromPath(path)
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new UserError(
      code === 'ENOENT'
        ? `file not found: ${path}`
        : `cannot read ${path}: ${code ?? (err as Error).message}`,
    )
  }
  const text = bytes.toString('utf8')
  const parsed = kind === 'jsonl' ? parseJsonl(text) : parseCsv(text)
  return { format: kind, contentHash: contentHash(bytes), ...parsed }
}

/** JSONL: one JSON object per line (an IMS body, optionally with target, external_id, callback_url). */
export function parseJsonl(text: string): ParsedItems {
  const items: FileItem[] = []
  const rejected: RejectedLine[] = []
  const lines = text.split(/\r?\n/)
  lines.forEach((raw, i) => {
    const line = i + 1
    const source = i === 0 ? raw.replace(/^\uFEFF/, '') : raw
    if (source.trim() === '') return
    let value: unknown
    try {
      value = JSON.parse(source)
    } catch (err) {
      rejected.push({ line, errors: [{ path: '', message: `not valid JSON (${(err as Error).message})` }] })
      return
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      rejected.push({ line, errors: [{ path: '', message: 'expected a JSON object' }] })
      return
    }
    items.push({ line, body: value as ImportRequest })
  })
  return { items, rejected }
}

/** Columns whose cells are turned into numbers when they hold an integer. */
const INTEGER_COLUMNS = new Set(['min_disk'])
/** Columns holding a list, cells separated by `;` (tags as `key.value;key.value`). */
const LIST_COLUMNS = new Set(['tags'])

/**
 * CSV: a header row naming the body fields (name, image_url, os_version, os_type, min_disk, type,
 * description, tags as `k.v;k.v`, target, external_id, callback_url, ...). Empty cells are left
 * out. Values are only shaped here (integers, lists); the API validates them.
 */
export function parseCsv(text: string): ParsedItems {
  const { records, unterminatedAt } = parseCsvRecords(text)
  const [header, ...rows] = records
  if (!header) return { items: [], rejected: [] }
  const columns = header.fields.map((f) => f.trim())
  const empty = columns.indexOf('')
  if (empty >= 0) throw new UserError(`CSV header (line ${header.line}): column ${empty + 1} has no name`)
  const dup = columns.find((c, i) => columns.indexOf(c) !== i)
  if (dup) throw new UserError(`CSV header (line ${header.line}): column "${dup}" appears twice`)

  const items: FileItem[] = []
  const rejected: RejectedLine[] = []
  for (const row of rows) {
    if (row.fields.length !== columns.length) {
      rejected.push({
        line: row.line,
        errors: [{ path: '', message: `expected ${columns.length} columns, found ${row.fields.length}` }],
      })
      continue
    }
    const body: ImportRequest = {}
    columns.forEach((column, i) => {
      const cell = (row.fields[i] ?? '').trim()
      if (cell === '') return
      if (INTEGER_COLUMNS.has(column) && /^-?\d+$/.test(cell)) body[column] = Number(cell)
      else if (LIST_COLUMNS.has(column))
        body[column] = cell
          .split(';')
          .map((t) => t.trim())
          .filter((t) => t !== '')
      else body[column] = cell
    })
    items.push({ line: row.line, body })
  }
  if (unterminatedAt !== null)
    rejected.push({ line: unterminatedAt, errors: [{ path: '', message: 'unterminated quoted field' }] })
  return { items, rejected }
}
