import { type ApiClient, ApiError, type FieldError, type ImportRequest } from '@ims-importer/api-client'
import { chunk, chunkKey } from '../chunk-keys.js'
import type { ExitCode } from '../exit-codes.js'
import { type FileItem, type ItemsFormat, type RejectedLine, readItemsFile } from '../read-items.js'
import { exitCodeFor, formatSummary, type Summary } from '../summary.js'
import type { CommandDeps } from './deps.js'
import { collectFailures, countStates, watchUntilFinal } from './watch.js'

export interface SubmitOptions {
  file: string
  format?: ItemsFormat
  /** Target for items that name none. */
  target?: string
  externalId?: string
  chunkSize: number
  wait: boolean
  intervalMs: number
}

/** The API's cap on items per POST /v1/batches. */
export const MAX_CHUNK_SIZE = 1000

interface ChunkOutcome {
  /** null when the API refused every item of the chunk (nothing was created). */
  batchId: string | null
  accepted: { id: string; line: number }[]
  rejected: RejectedLine[]
  replayed: boolean
}

async function sendChunk(
  client: ApiClient,
  items: FileItem[],
  options: SubmitOptions,
  idempotencyKey: string,
): Promise<ChunkOutcome> {
  const bodies: ImportRequest[] = items.map(({ body }) =>
    options.target && body.target === undefined ? { ...body, target: options.target } : body,
  )
  const lineAt = (index: number) => items[index]?.line ?? -1
  try {
    const { value, replayed } = await client.createBatch(
      { items: bodies, ...(options.externalId ? { external_id: options.externalId } : {}) },
      { idempotencyKey },
    )
    return {
      batchId: value.id,
      accepted: value.imports.map((a) => ({ id: a.id, line: lineAt(a.index) })),
      rejected: value.errors.map((r) => ({ line: lineAt(r.index), errors: stripItemPrefix(r.errors) })),
      replayed,
    }
  } catch (err) {
    // 400 listing item errors: no item of this chunk was valid, so nothing was created.
    const itemErrors = err instanceof ApiError && err.status === 400 ? err.problem.item_errors : undefined
    if (!itemErrors) throw err
    return {
      batchId: null,
      accepted: [],
      rejected: itemErrors.map((r) => ({ line: lineAt(r.index), errors: stripItemPrefix(r.errors) })),
      replayed: false,
    }
  }
}

/** Error paths come as `items[7].min_disk`; in a report by line only `min_disk` means something. */
function stripItemPrefix(errors: FieldError[]): FieldError[] {
  return errors.map((e) => ({ ...e, path: e.path.replace(/^items\[\d+\]\.?/, '') }))
}

/**
 * `ims-importer submit <file>`: sends the file's items through POST /v1/batches in chunks, each
 * under a deterministic Idempotency-Key (see chunk-keys.ts), so running the same command again
 * after a crash replays the chunks already accepted instead of importing them twice.
 */
export async function submitCommand(deps: CommandDeps, options: SubmitOptions): Promise<ExitCode> {
  const file = await readItemsFile(options.file, options.format)
  const chunks = chunk(file.items, options.chunkSize)
  const params = {
    chunkSize: options.chunkSize,
    ...(options.target ? { target: options.target } : {}),
    ...(options.externalId ? { externalId: options.externalId } : {}),
  }
  deps.stdout.write(
    `${options.file}: ${file.items.length} items, ${file.rejected.length} unreadable lines, ${chunks.length} chunks of up to ${options.chunkSize}\n`,
  )

  const batchIds: string[] = []
  const lineById = new Map<string, number>()
  const rejected: RejectedLine[] = [...file.rejected]
  for (const [index, items] of chunks.entries()) {
    let outcome: ChunkOutcome
    try {
      outcome = await sendChunk(deps.client, items, options, chunkKey(file.contentHash, params, index))
    } catch (err) {
      deps.stderr.write(
        `stopped at chunk ${index + 1}/${chunks.length}; run the same command again to continue (chunks already accepted are replayed, not imported twice)\n`,
      )
      throw err
    }
    if (outcome.batchId) batchIds.push(outcome.batchId)
    for (const a of outcome.accepted) lineById.set(a.id, a.line)
    rejected.push(...outcome.rejected)
    const first = items[0]?.line
    const last = items.at(-1)?.line
    deps.stdout.write(
      `chunk ${index + 1}/${chunks.length} (lines ${first}-${last}): ${outcome.accepted.length} accepted, ${outcome.rejected.length} rejected, ${outcome.batchId ? `batch ${outcome.batchId}` : 'no batch created'}${outcome.replayed ? ' (replayed: sent before)' : ''}\n`,
    )
  }
  if (batchIds.length > 0) deps.stdout.write(`batches: ${batchIds.join(' ')}\n`)

  const counts = options.wait
    ? await watchUntilFinal(deps, batchIds, { intervalMs: options.intervalMs })
    : await countStates(deps, batchIds)
  const summary: Summary = {
    counts,
    failures:
      (counts.failed ?? 0) > 0 ? await collectFailures(deps, batchIds, (id) => lineById.get(id) ?? null) : [],
    rejected,
  }
  deps.stdout.write(formatSummary(summary))
  if (!options.wait && batchIds.length > 0)
    deps.stdout.write(`Follow them with: ims-importer watch ${batchIds.join(' ')}\n`)
  return exitCodeFor(summary)
}
