import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { BenchContext } from './context.js'
import { sleep } from './context.js'

/**
 * A TypeScript entry point run as its own Node process through tsx's loader (`node --import
 * tsx`), so that the pid is the Node process itself (RSS and --cpu-prof apply to it, not to a
 * tsx wrapper).
 */
export interface Child {
  name: string
  pid: number
  proc: ChildProcess
  /** The last lines written to stdout and stderr (for error messages and log scraping). */
  output(): string
  /** Every stdout line seen so far, when `keepStdout` was set. */
  stdoutLines(): string[]
  /** Resident set size in kB, from /proc (Linux). */
  rssKb(): number
  /** CPU time used so far (user + system), in seconds, from /proc (Linux). */
  cpuSeconds(): number
  /** SIGTERM, then SIGKILL after the grace period. */
  stop(graceMs?: number): Promise<void>
  exited: Promise<number | null>
}

const TSX_LOADER = import.meta.resolve('tsx')
/** USER_HZ: /proc times are in these ticks (100 on Linux everywhere in practice). */
const CLOCK_TICKS = 100

export interface SpawnOptions {
  name: string
  /** Absolute path of the .ts entry point. */
  entry: string
  cwd: string
  env: Record<string, string | undefined>
  /** Extra node flags, for example ['--cpu-prof', '--cpu-prof-dir=/tmp/x']. */
  nodeFlags?: string[]
  /** Keep every stdout line (log scraping); otherwise only a short tail is kept. */
  keepStdout?: boolean
  /** Send stdout to /dev/null (log lines still cost the child their formatting, not the bench a pipe). */
  discardStdout?: boolean
}

export function spawnTs(options: SpawnOptions): Child {
  const args = [...(options.nodeFlags ?? []), '--import', TSX_LOADER, options.entry]
  const proc = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: options.env as NodeJS.ProcessEnv,
    stdio: ['ignore', options.discardStdout ? 'ignore' : 'pipe', 'pipe'],
  })
  let tail = ''
  const lines: string[] = []
  let partial = ''
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000)
  }
  proc.stdout?.on('data', (chunk: Buffer) => {
    keep(chunk)
    if (!options.keepStdout) return
    const text = partial + chunk.toString('utf8')
    const parts = text.split('\n')
    partial = parts.pop() ?? ''
    lines.push(...parts)
  })
  proc.stderr?.on('data', keep)
  proc.on('error', () => {})
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  const done = () => proc.exitCode !== null || proc.signalCode !== null
  return {
    name: options.name,
    pid: proc.pid ?? -1,
    proc,
    output: () => tail,
    stdoutLines: () => lines,
    rssKb: () => {
      try {
        const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8')
        const m = /VmRSS:\s+(\d+)\s+kB/.exec(status)
        return m ? Number(m[1]) : Number.NaN
      } catch {
        return Number.NaN
      }
    },
    cpuSeconds: () => {
      try {
        // Fields after the command name (which may contain spaces): utime is the 12th, stime the 13th.
        const stat = readFileSync(`/proc/${proc.pid}/stat`, 'utf8')
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
      } catch {
        return Number.NaN
      }
    },
    stop: async (graceMs = 15_000) => {
      if (done()) return
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs)
      proc.kill('SIGTERM')
      await exited
      clearTimeout(timer)
    },
    exited,
  }
}

/** Waits until `url` answers 2xx, or throws with the child's last output. */
export async function waitForHttp(url: string, child: Child, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null)
      throw new Error(
        `${child.name} exited (${child.proc.exitCode}) before ${url} answered:\n${child.output()}`,
      )
    try {
      const res = await fetch(url)
      await res.arrayBuffer()
      if (res.ok) return
    } catch {
      // not listening yet
    }
    await sleep(100)
  }
  throw new Error(`${child.name}: ${url} did not answer within ${timeoutMs} ms:\n${child.output()}`)
}

/** Stops children in reverse order; never throws. */
export async function stopAll(children: (Child | undefined)[]): Promise<void> {
  for (const c of [...children].reverse()) await c?.stop().catch(() => {})
}

/** The inherited environment without variables that would point a child at another Redis or IMS. */
export function childEnv(
  ctx: BenchContext,
  extra: Record<string, string>,
): Record<string, string | undefined> {
  const {
    REDIS_URL: _r,
    IMS_TARGETS_FILE: _t,
    IMS_ENDPOINT: _e,
    IMS_SIMULATOR_URL: _s,
    API_KEYS: _k,
    NODE_OPTIONS: _n,
    ...rest
  } = ctx.env
  return { ...rest, ...extra }
}
