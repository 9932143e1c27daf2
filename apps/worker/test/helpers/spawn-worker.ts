import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Keys, TargetConfig } from '@ims-importer/core'
import { freePort } from '@ims-importer/core/testing'
import { waitUntil } from './harness.js'

const PACKAGE_DIR = join(import.meta.dirname, '..', '..')

export interface SpawnedWorker {
  child: ChildProcess
  url: string
  /** What the process wrote so far (for failure messages). */
  output(): string
  kill(signal: NodeJS.Signals): Promise<number | null>
}

/** Fast settings for a worker process under test, as env. */
export const FAST_ENV: Record<string, string> = {
  LOG_LEVEL: 'warn',
  SUBMIT_RETRY_BASE_MS: '100',
  SUBMIT_RETRY_MAX_MS: '1000',
  SUBMIT_LOOKUP_SETTLE_MS: '200',
  INFLIGHT_WAIT_MS: '150',
  THROTTLE_BACKOFF_MS: '300',
  AUTH_FAILURE_PAUSE_MS: '2000',
  SHUTDOWN_DEADLINE_MS: '5000',
  RECONCILE_ENABLED: 'false',
}

/** Writes the targets file a worker process reads through IMS_TARGETS_FILE. */
export function writeTargetsFile(targets: TargetConfig[]): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ims-worker-targets-'))
  const path = join(dir, 'targets.json')
  writeFileSync(path, JSON.stringify({ targets }))
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/**
 * Starts src/main.ts under tsx as its own process (as `pnpm start` does) in the namespace `ns`
 * (REDIS_KEY_PREFIX) and waits for /readyz.
 */
export async function spawnWorker(ns: Keys, env: Record<string, string>): Promise<SpawnedWorker> {
  const port = await freePort()
  // node itself with tsx's loader (not the tsx CLI, which runs the program in a grandchild that
  // a SIGKILL of the CLI would leave running).
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: PACKAGE_DIR,
    env: {
      PATH: process.env.PATH ?? '',
      WORKER_PORT: String(port),
      WORKER_HOST: '127.0.0.1',
      REDIS_KEY_PREFIX: ns.prefix,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout?.on('data', (d) => {
    out += d
  })
  child.stderr?.on('data', (d) => {
    out += d
  })
  const url = `http://127.0.0.1:${port}`
  try {
    await waitUntil(
      'the worker process to be ready',
      async () => {
        if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}:\n${out}`)
        return (await fetch(`${url}/readyz`).catch(() => null))?.status === 200
      },
      20_000,
      100,
    )
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  return {
    child,
    url,
    output: () => out,
    kill: (signal) =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode)
        child.once('exit', (code) => resolve(code))
        child.kill(signal)
      }),
  }
}
