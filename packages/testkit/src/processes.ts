import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { freePort } from '@ims-importer/core/testing'
import { appBundle } from './bundle.js'
import { sleep } from './wait.js'

const REPO = join(import.meta.dirname, '..', '..', '..')
/** tsx's loader, resolved here so that any entry point runs the same way whatever its cwd. */
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
const OUTPUT_TAIL = 64 * 1024
/** USER_HZ: /proc times are in these ticks (100 on Linux everywhere in practice). */
const CLOCK_TICKS = 100

/** Every child started here and not yet exited: killed (by pid) if this process exits first. */
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL')
})

export interface SpawnTsOptions {
  /** For messages (default: the entry's file name). */
  name?: string
  /** Absolute path of the .ts entry point (run under tsx), or of a built .mjs/.js (run as is). */
  entry: string
  /** Default: the entry's package (the directory above its src/). */
  cwd?: string
  /** The child's whole environment besides PATH (nothing else is inherited). */
  env: Record<string, string | undefined>
  /** Node flags before the loader, for example ['--cpu-prof', '--cpu-prof-dir=/tmp/x']. */
  nodeFlags?: string[]
  /** Keep every stdout line (log scraping); otherwise only the last 64 KiB of output. */
  keepStdout?: boolean
  /** Send stdout to /dev/null (a bench's loaded process should not pay for a pipe). */
  discardStdout?: boolean
}

/** A TypeScript entry point run as its own Node process. */
export interface TsProcess {
  name: string
  pid: number
  child: ChildProcess
  alive(): boolean
  /** The last 64 KiB written to stdout and stderr (for failure messages). */
  output(): string
  /** Every stdout line so far, when `keepStdout` was set. */
  stdoutLines(): string[]
  /** Resident set size in kB, from /proc (Linux; NaN elsewhere or once exited). */
  rssKb(): number
  /** CPU time used so far (user + system) in seconds, from /proc (Linux; NaN elsewhere). */
  cpuSeconds(): number
  /** Sends `signal` to this process (its own pid, nothing else); resolves with its exit code. */
  kill(signal: NodeJS.Signals): Promise<number | null>
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>
  /** Resolves with the exit code when the process exits. */
  exited: Promise<number | null>
}

/**
 * Runs `node --import tsx <entry>`: node itself with tsx's loader, so that the pid is the Node
 * process (RSS, --cpu-prof and signals apply to it); the tsx CLI would run the program in a
 * grandchild that a SIGKILL of the CLI leaves running.
 */
export function spawnTs(o: SpawnTsOptions): TsProcess {
  const loader = o.entry.endsWith('.ts') ? ['--import', TSX_LOADER] : []
  const child = spawn(process.execPath, [...(o.nodeFlags ?? []), ...loader, o.entry], {
    cwd: o.cwd ?? join(o.entry, '..', '..'),
    env: { PATH: process.env.PATH ?? '', ...o.env } as NodeJS.ProcessEnv,
    stdio: ['ignore', o.discardStdout ? 'ignore' : 'pipe', 'pipe'],
  })
  child.on('error', () => {})
  running.add(child)
  let out = ''
  const keep = (d: Buffer) => {
    out += d
    if (out.length > OUTPUT_TAIL * 2) out = out.slice(-OUTPUT_TAIL)
  }
  const lines: string[] = []
  let partial = ''
  child.stdout?.on('data', (d: Buffer) => {
    keep(d)
    if (!o.keepStdout) return
    const parts = (partial + d.toString('utf8')).split('\n')
    partial = parts.pop() ?? ''
    lines.push(...parts)
  })
  child.stderr?.on('data', keep)
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child)
      resolve(code)
    }),
  )
  const alive = () => child.exitCode === null && child.signalCode === null
  const kill = async (signal: NodeJS.Signals) => {
    if (alive()) child.kill(signal)
    return exited
  }
  return {
    name: o.name ?? o.entry.split('/').pop() ?? o.entry,
    pid: child.pid ?? -1,
    child,
    alive,
    output: () => out.slice(-OUTPUT_TAIL),
    stdoutLines: () => lines,
    rssKb: () => {
      try {
        const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
        return m ? Number(m[1]) : Number.NaN
      } catch {
        return Number.NaN
      }
    },
    cpuSeconds: () => {
      try {
        // Fields after the command name (which may contain spaces): utime is the 12th, stime the 13th.
        const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8')
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
      } catch {
        return Number.NaN
      }
    },
    kill,
    stop: async (graceMs = 15_000) => {
      if (!alive()) return
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await kill('SIGTERM')
      clearTimeout(timer)
    },
    exited,
  }
}

/** Stops processes in reverse start order; never throws. */
export async function stopAll(processes: (TsProcess | undefined)[]): Promise<void> {
  for (const p of [...processes].reverse()) await p?.stop().catch(() => {})
}

/** GET `${url}/readyz`: its status, 0 when it did not answer within `timeoutMs`. */
export async function readyz(url: string, timeoutMs = 2000): Promise<number> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(timeoutMs) })
    await res.body?.cancel()
    return res.status
  } catch {
    return 0
  }
}

/**
 * Waits until `url` answers 2xx; throws with the process's last output if it exits first or
 * `timeoutMs` passes.
 */
export async function waitForHttp(url: string, p: TsProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!p.alive())
      throw new Error(
        `${p.name} exited (${p.child.exitCode ?? p.child.signalCode}) before ${url} answered:\n${p.output()}`,
      )
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) }).catch(() => null)
    await res?.body?.cancel()
    if (res?.ok) return
    await sleep(100)
  }
  throw new Error(`${p.name}: ${url} did not answer within ${timeoutMs} ms:\n${p.output()}`)
}

export type ServiceKind = 'api' | 'worker'

/** An API or worker process of the service under test. */
export interface ServiceProcess extends TsProcess {
  kind: ServiceKind
  /** http://127.0.0.1:port (the API's routes, or the worker's /readyz and /metrics). */
  url: string
}

export interface ServiceOptions {
  /**
   * The Redis namespace the process works in: its REDIS_KEY_PREFIX (a `{...}` hash tag, or the
   * `Keys` of core testing's testKeys). Default: whatever `env` says, else the service's `{ims}`.
   */
  namespace?: string | { prefix: string }
  /**
   * 'bundle' (default): the app bundled with its dependencies, as production runs it (see
   * bundle.ts); 'source': src/main.ts under tsx.
   */
  from?: 'bundle' | 'source'
  /** How long /readyz may take to answer 200 (default 60 s; a loaded machine boots slowly). */
  readyTimeoutMs?: number
  name?: string
  nodeFlags?: string[]
  keepStdout?: boolean
  discardStdout?: boolean
}

const APP_DIR: Record<ServiceKind, string> = {
  api: join(REPO, 'apps', 'api'),
  worker: join(REPO, 'apps', 'worker'),
}

/**
 * Starts the app `apps/<kind>` as its own process (its bundle, or its sources: `from`), with `env` (and PATH; nothing else from
 * this process), on a free port of 127.0.0.1, and waits until its /readyz answers 200.
 */
export async function spawnService(
  kind: ServiceKind,
  env: Record<string, string | undefined>,
  o: ServiceOptions = {},
): Promise<ServiceProcess> {
  return onAFreePort(() => spawnServiceOnce(kind, env, o))
}

/**
 * Runs `start` (which picks a free port and starts a process on it) up to three times: a free
 * port can be taken by another test's process before this one listens on it, and the process
 * then says EADDRINUSE and exits before it is ready.
 */
export async function onAFreePort<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start()
    } catch (err) {
      if (attempt >= 3 || !String((err as Error).message).includes('EADDRINUSE')) throw err
    }
  }
}

async function spawnServiceOnce(
  kind: ServiceKind,
  env: Record<string, string | undefined>,
  o: ServiceOptions,
): Promise<ServiceProcess> {
  const port = await freePort()
  const portEnv =
    kind === 'api'
      ? { PORT: String(port), HOST: '127.0.0.1' }
      : { WORKER_PORT: String(port), WORKER_HOST: '127.0.0.1' }
  const namespace = typeof o.namespace === 'string' ? o.namespace : o.namespace?.prefix
  const entry = o.from === 'source' ? join(APP_DIR[kind], 'src', 'main.ts') : await appBundle(APP_DIR[kind])
  const p = spawnTs({
    name: o.name ?? kind,
    entry,
    cwd: APP_DIR[kind],
    env: { ...env, ...portEnv, ...(namespace ? { REDIS_KEY_PREFIX: namespace } : {}) },
    ...(o.nodeFlags ? { nodeFlags: o.nodeFlags } : {}),
    ...(o.keepStdout ? { keepStdout: o.keepStdout } : {}),
    ...(o.discardStdout ? { discardStdout: o.discardStdout } : {}),
  })
  const proc: ServiceProcess = { ...p, kind, url: `http://127.0.0.1:${port}` }
  try {
    await waitForHttp(`${proc.url}/readyz`, proc, o.readyTimeoutMs ?? 60_000)
  } catch (err) {
    await proc.kill('SIGKILL')
    throw err
  }
  return proc
}

/** A worker process (apps/worker/src/main.ts); see spawnService. */
export const spawnWorker = (env: Record<string, string | undefined>, o?: ServiceOptions) =>
  spawnService('worker', env, o)

/** An API process (apps/api/src/main.ts); see spawnService. */
export const spawnApi = (env: Record<string, string | undefined>, o?: ServiceOptions) =>
  spawnService('api', env, o)
