import { IMPORT_STATUSES, type ImportView } from '@ims-importer/api-client'
import { formatBytes } from '../bytes.js'
import { ExitCode } from '../exit-codes.js'
import { totalOf } from '../progress.js'
import type { CommandDeps } from './deps.js'

function describeImport(view: ImportView): string {
  const rows: [string, string | null | undefined][] = [
    ['import', view.id],
    ['status', view.status],
    ['target', view.target],
    ['external_id', view.external_id],
    ['batch', view.batch_id],
    ['created', view.created_at],
    ['updated', view.updated_at],
    ['ims job', view.ims?.job_id ? `${view.ims.job_id} (${view.ims.job_status ?? 'unknown'})` : null],
    ['image', view.ims?.image_id],
    [
      'file',
      view.file
        ? `${formatBytes(view.file.size_bytes)} (${view.file.size_bytes} bytes; ${[view.file.storage_class, view.file.region].filter(Boolean).join(', ') || 'class and region unknown'})`
        : null,
    ],
    [
      'error',
      view.error
        ? `${view.error.code ? `${view.error.code} ` : ''}${view.error.message} (from ${view.error.source})`
        : null,
    ],
    [
      'ims error',
      view.ims?.error_code ? `${view.ims.error_code} ${view.ims.fail_reason ?? ''}`.trim() : null,
    ],
  ]
  return rows
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k.padEnd(12)}${v}`)
    .join('\n')
}

/** `ims-importer status <id>`: one import, or a batch when the id starts with `bat_`. */
export async function statusCommand(deps: CommandDeps, id: string): Promise<ExitCode> {
  if (!id.startsWith('bat_')) {
    deps.stdout.write(`${describeImport(await deps.client.getImport(id))}\n`)
    return ExitCode.ok
  }
  const batch = await deps.client.getBatch(id, { limit: 20 })
  const lines = [
    `batch       ${batch.id}`,
    `created     ${batch.created_at}`,
    ...(batch.external_id ? [`external_id ${batch.external_id}`] : []),
    `imports     ${totalOf(batch.counts)}`,
  ]
  for (const s of IMPORT_STATUSES) if (batch.counts[s]) lines.push(`  ${s.padEnd(10)}${batch.counts[s]}`)
  if (batch.rejected.length > 0) lines.push(`rejected    ${batch.rejected.length} items at submit`)
  const bytes = batch.bytes
  if (bytes && (bytes.page > 0 || bytes.total !== null)) {
    const unknown = bytes.page_unknown > 0 ? `, ${bytes.page_unknown} not checked yet` : ''
    lines.push(
      bytes.total !== null
        ? `files       ${formatBytes(bytes.total)} in all${unknown}`
        : `files       ${formatBytes(bytes.page)} in the first ${batch.items.length} items${unknown}`,
    )
  }
  if (batch.items.length > 0) {
    lines.push('', `imports by item index (first ${batch.items.length}):`)
    for (const item of batch.items) {
      const size = item.file_size_bytes == null ? '' : formatBytes(item.file_size_bytes)
      lines.push(
        `  #${String(item.index).padEnd(4)} ${item.id}  ${item.status.padEnd(10)} ${size.padStart(10)} ${item.external_id ?? ''} ${item.error?.code ?? ''}`.trimEnd(),
      )
    }
  }
  deps.stdout.write(`${lines.join('\n')}\n`)
  return ExitCode.ok
}
