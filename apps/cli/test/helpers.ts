import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp, createApiDeps, loadApiConfig } from '@ims-importer/api'
import { createLogger, type ImportRecord } from '@ims-importer/core'
import { uniqueName } from '@ims-importer/core/testing'
import { runCli } from '../src/cli.js'
import type { CommandDeps } from '../src/commands/deps.js'
import { watchUntilFinal } from '../src/commands/watch.js'

/** A valid quick-import body (the IMS API page's first example) with a unique name. */
export const body = (i: number) => ({
  name: `cli-img-${i}`,
  description: 'Created by the CLI test',
  image_url: 'ims-image:centos70.zvhd2',
  os_version: 'CentOS 7.0 64bit',
  min_disk: 40,
  type: 'ECS',
  tags: ['aaa.111'],
})

export interface Tenant {
  name: string
  key: string
}

/** The real intake API listening on 127.0.0.1 on the test Redis, with fresh tenants and a fresh target. */
export async function startApi(redisUrl: string, tenantCount = 2) {
  const tenants: Tenant[] = Array.from({ length: tenantCount }, () => {
    const name = uniqueName('cli')
    return { name, key: `key-${name}` }
  })
  const target = uniqueName('cli-t')
  const config = {
    ...loadApiConfig({
      REDIS_URL: redisUrl,
      LOG_LEVEL: 'silent',
      API_KEYS: tenants.map((t) => `${t.name}:${t.key}`).join(','),
      RATE_LIMIT_PER_MINUTE: '100000',
    }),
    targets: [target],
  }
  const deps = createApiDeps(config, { log: createLogger({ name: 'cli-test-api', level: 'silent' }) })
  const app = buildApp(deps)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  /** Every import of a tenant, read through the store (all pages). */
  const allImports = async (tenant: string): Promise<ImportRecord[]> => {
    const out: ImportRecord[] = []
    let cursor: string | undefined
    do {
      const page = await deps.store.list({ tenant, limit: 500, ...(cursor ? { cursor } : {}) })
      out.push(...page.items)
      cursor = page.next_cursor ?? undefined
    } while (cursor)
    return out
  }
  return { app, deps, url, tenants, target, allImports, close: () => app.close() }
}

export async function tempFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ims-cli-test-'))
  const path = join(dir, name)
  await writeFile(path, text)
  return path
}

/** runCli in this process with captured output. */
export async function cli(argv: string[], env: Record<string, string> = {}) {
  let stdout = ''
  let stderr = ''
  const code = await runCli(argv, env, {
    stdout: {
      write: (s: string) => {
        stdout += s
      },
    },
    stderr: {
      write: (s: string) => {
        stderr += s
      },
    },
  })
  return { code, stdout, stderr }
}

/**
 * `watch` of `ids` until all are final, in UTC and plain output, its output as lines. `worker` runs
 * whenever watch sleeps: it moves the records as the worker would.
 */
export async function watchLines(client: CommandDeps['client'], ids: string[], worker: () => Promise<void>) {
  const chunks: string[] = []
  const sink = { write: (s: string) => void chunks.push(s) }
  const deps = { client, stdout: sink, stderr: sink, timeZone: 'UTC', sleep: worker }
  const counts = await watchUntilFinal(deps, ids, { intervalMs: 10, plainEveryMs: 0 })
  return { counts, lines: chunks.join('').split('\n') }
}

const BIN = join(import.meta.dirname, '..', 'bin', 'ims-importer.mjs')

/** The real `ims-importer` binary as a child process. */
export function spawnCli(argv: string[], env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, [BIN, ...argv], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (s: string) => {
    stdout += s
  })
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr += s
  })
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
    stdout,
    stderr,
  }))
  return { child, exited, output: () => stdout }
}
