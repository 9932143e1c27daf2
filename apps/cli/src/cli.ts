import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import {
  type ApiClient,
  ApiError,
  ApiNetworkError,
  ApiResponseError,
  createApiClient,
  ImportStatus,
} from '@ims-importer/api-client'
import type { CommandDeps } from './commands/deps.js'
import { listCommand } from './commands/list.js'
import { statusCommand } from './commands/status.js'
import { MAX_CHUNK_SIZE, submitCommand } from './commands/submit.js'
import { watchCommand } from './commands/watch.js'
import { type CliConfig, DEFAULT_URL, loadCliConfig } from './config.js'
import { ExitCode } from './exit-codes.js'
import type { OutputStream } from './progress.js'
import type { ItemsFormat } from './read-items.js'
import { UserError } from './user-error.js'

export const USAGE = `Usage: ims-importer <command> [options]

Commands:
  submit <file.jsonl|file.csv>   send the file's imports through POST /v1/batches in chunks
      --target T                 target for items that name none
      --external-id X            external_id of each batch
      --chunk-size N             items per batch request (1-${MAX_CHUNK_SIZE}, default 500)
      --format jsonl|csv         when the file name does not tell
      --wait                     watch until every accepted import is final
  status <id>                    one import, or a batch when the id starts with bat_
  watch <batch-id|import-id...>  progress until every import is final, then the summary
  list                           the newest imports
      --status S  --target T  --external-id X  --batch B  --limit N (default 20)  --cursor C

Common options:
  --url URL        API base URL (env IMS_IMPORTER_URL, default ${DEFAULT_URL})
  --api-key KEY    API key (env IMS_IMPORTER_API_KEY; prefer the env, argv is visible to other users)
  --interval S     seconds between status polls while watching (default 2)
  -h, --help

A rerun of the same submit command on the same file is safe: each chunk carries an Idempotency-Key
derived from the file's content and the chunk's position, and the API answers a repeated chunk
with its first answer instead of importing it again.

Exit status: 0 ok; 1 an import failed or a line was rejected; 2 bad usage or configuration;
3 the API refused the request or could not be reached; 4 internal error.
`

const OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  interval: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  target: { type: 'string' },
  'external-id': { type: 'string' },
  'chunk-size': { type: 'string' },
  format: { type: 'string' },
  wait: { type: 'boolean' },
  status: { type: 'string' },
  batch: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
} as const

const COMMON = ['url', 'api-key', 'interval', 'help']
const COMMAND_OPTIONS: Record<string, string[]> = {
  submit: ['target', 'external-id', 'chunk-size', 'format', 'wait'],
  status: [],
  watch: [],
  list: ['status', 'target', 'external-id', 'batch', 'limit', 'cursor'],
}

export interface CliIo {
  stdout: OutputStream
  stderr: OutputStream
  /** Relative file names are resolved against this directory (default: the process's). */
  cwd?: string
}

export interface CliHooks {
  /** Replaces the HTTP client (tests). */
  createClient?: (config: CliConfig, io: CliIo) => ApiClient
}

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UserError(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`)
  return n
}

function defaultClient(config: CliConfig, io: CliIo): ApiClient {
  return createApiClient({
    baseUrl: config.url,
    apiKey: config.apiKey,
    userAgent: 'ims-importer-cli',
    onRetry: ({ method, path, delayMs, error }) => {
      const why =
        error instanceof ApiError
          ? `${error.status} ${error.problem.title}`
          : error instanceof ApiNetworkError
            ? error.code
            : String(error)
      io.stderr.write(`retrying ${method} ${path} in ${(delayMs / 1000).toFixed(1)}s (${why})\n`)
    },
  })
}

async function dispatch(argv: string[], env: Record<string, string | undefined>, io: CliIo, hooks: CliHooks) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: OPTIONS,
    allowPositionals: true,
    strict: true,
  })
  const [command, ...args] = positionals
  if (values.help || !command) {
    ;(values.help ? io.stdout : io.stderr).write(USAGE)
    return values.help ? ExitCode.ok : ExitCode.usage
  }
  const allowed = COMMAND_OPTIONS[command]
  if (!allowed) throw new UserError(`unknown command "${command}" (try --help)`)
  for (const name of Object.keys(values))
    if (!COMMON.includes(name) && !allowed.includes(name))
      throw new UserError(`option --${name} does not apply to ${command}`)

  const intervalMs = integer('interval', values.interval, 2, 1, 3600) * 1000
  const need = (n: number, what: string) => {
    if (args.length < n) throw new UserError(`${command} needs ${what}`)
  }
  const config = loadCliConfig({ url: values.url, apiKey: values['api-key'] }, env)
  const deps: CommandDeps = {
    client: (hooks.createClient ?? defaultClient)(config, io),
    stdout: io.stdout,
    stderr: io.stderr,
  }

  switch (command) {
    case 'submit': {
      need(1, 'a file')
      if (args.length > 1) throw new UserError('submit takes one file')
      const format = values.format
      if (format !== undefined && format !== 'jsonl' && format !== 'csv')
        throw new UserError(`--format must be jsonl or csv, got "${format}"`)
      return submitCommand(deps, {
        file: resolve(io.cwd ?? process.cwd(), args[0] as string),
        format: format as ItemsFormat | undefined,
        target: values.target,
        externalId: values['external-id'],
        chunkSize: integer('chunk-size', values['chunk-size'], 500, 1, MAX_CHUNK_SIZE),
        wait: values.wait === true,
        intervalMs,
      })
    }
    case 'status':
      need(1, 'an import or batch id')
      if (args.length > 1) throw new UserError('status takes one id')
      return statusCommand(deps, args[0] as string)
    case 'watch':
      need(1, 'at least one batch or import id')
      return watchCommand(deps, args, { intervalMs })
    default: {
      if (args.length > 0) throw new UserError(`list takes no arguments, got "${args[0]}"`)
      const status = values.status
      if (status !== undefined && !ImportStatus.safeParse(status).success)
        throw new UserError(`--status must be one of ${ImportStatus.options.join(', ')}`)
      return listCommand(deps, {
        status: status as ImportStatus | undefined,
        target: values.target,
        externalId: values['external-id'],
        batchId: values.batch,
        limit: integer('limit', values.limit, 20, 1, 500),
        cursor: values.cursor,
      })
    }
  }
}

/**
 * Runs one `ims-importer` command and returns its exit status. Every error a user can cause ends
 * as one line on stderr (no stack trace, never the API key).
 */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined>,
  io: CliIo,
  hooks: CliHooks = {},
): Promise<ExitCode> {
  try {
    return await dispatch(argv, env, io, hooks)
  } catch (err) {
    const say = (line: string) => io.stderr.write(`ims-importer: ${line}\n`)
    if (err instanceof UserError) {
      say(err.message)
      return ExitCode.usage
    }
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      say(`${(err as Error).message} (try --help)`)
      return ExitCode.usage
    }
    if (err instanceof ApiError) {
      say(`${err.method} ${err.path}: ${err.message}`)
      return err.status === 401 || err.status === 403 ? ExitCode.usage : ExitCode.api
    }
    if (err instanceof ApiNetworkError || err instanceof ApiResponseError) {
      say(err.message)
      return ExitCode.api
    }
    say(`internal error: ${(err as Error)?.message ?? String(err)}`)
    if (env.IMS_IMPORTER_DEBUG && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`)
    return ExitCode.internal
  }
}
