import type { ImportStatus } from '@ims-importer/api-client'
import { ExitCode } from '../exit-codes.js'
import type { CommandDeps } from './deps.js'

export interface ListOptions {
  status?: ImportStatus
  target?: string
  externalId?: string
  batchId?: string
  limit: number
  cursor?: string
}

/** `ims-importer list`: the newest imports, one per line, and the cursor of the next page. */
export async function listCommand(deps: CommandDeps, options: ListOptions): Promise<ExitCode> {
  const page = await deps.client.listImports({
    status: options.status,
    target: options.target,
    external_id: options.externalId,
    batch_id: options.batchId,
    limit: options.limit,
    cursor: options.cursor,
  })
  const rows = [
    ['id', 'status', 'target', 'created', 'external_id', 'error'],
    ...page.items.map((v) => [
      v.id,
      v.status,
      v.target,
      v.created_at,
      v.external_id ?? '-',
      v.ims?.error_code ?? v.error?.code ?? '',
    ]),
  ]
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  const text = rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
  deps.stdout.write(`${text}\n`)
  if (page.items.length === 0) deps.stdout.write('(no imports)\n')
  if (page.next_cursor) {
    const flags = [
      options.status ? `--status ${options.status}` : '',
      options.target ? `--target ${options.target}` : '',
      options.externalId ? `--external-id ${options.externalId}` : '',
      options.batchId ? `--batch ${options.batchId}` : '',
      `--limit ${options.limit}`,
      `--cursor ${page.next_cursor}`,
    ]
    deps.stdout.write(`more: ims-importer list ${flags.filter(Boolean).join(' ')}\n`)
  }
  return ExitCode.ok
}
