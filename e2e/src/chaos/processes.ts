import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { freePort } from '@ims-importer/core/testing'
import { waitUntil } from './wait.js'

const REPO = join(import.meta.dirname, '..', '..', '..')
const OUTPUT_TAIL = 64 * 1024

export type ServiceKind = 'api' | 'worker'

/** Every child started here and not yet exited: killed (by pid) if the test process exits first. */
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL')
})

const MAIN: Record<ServiceKind, string> = {
  api: join(REPO, 'apps', 'api', 'src', 'main.ts'),
  worker: join(REPO, 'apps', 'worker', 'src', 'main.ts'),
}

/** One service process of the stack under test. */
export interface ServiceProcess {
  kind: ServiceKind
  pid: number
  /** http://127.0.0.1:port (API routes, or the worker's /readyz and /metrics). */
  url: string
  child: ChildProcess
  alive(): boolean
  /** The last 64 KiB the process wrote (for failure messages). */
  output(): string
  /** Sends `signal` to this process (its own pid, nothing else) and waits for its exit. */
  kill(signal: NodeJS.Signals): Promise<void>
}

/**
 * Starts `node --import tsx apps/<kind>/src/main.ts` with `env` (and nothing else from this
 * process but PATH), on a free port, and waits until its /readyz answers 200.
 */
export async function spawnService(
  kind: ServiceKind,
  env: Record<string, string>,
  readyTimeoutMs = 60_000,
): Promise<ServiceProcess> {
  const port = await freePort()
  const portEnv =
    kind === 'api'
      ? { PORT: String(port), HOST: '127.0.0.1' }
      : { WORKER_PORT: String(port), WORKER_HOST: '127.0.0.1' }
  const main = MAIN[kind]
  // node itself with tsx's loader (resolved from the app's own dependencies): the tsx CLI would
  // run the program in a grandchild that a SIGKILL of the CLI leaves running.
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    cwd: dirname(dirname(main)),
    env: { PATH: process.env.PATH ?? '', ...portEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.on('error', () => {})
  running.add(child)
  child.once('exit', () => running.delete(child))
  let out = ''
  const keep = (d: Buffer) => {
    out += d
    if (out.length > OUTPUT_TAIL * 2) out = out.slice(-OUTPUT_TAIL)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const alive = () => child.exitCode === null && child.signalCode === null
  const proc: ServiceProcess = {
    kind,
    pid: child.pid ?? -1,
    url: `http://127.0.0.1:${port}`,
    child,
    alive,
    output: () => out.slice(-OUTPUT_TAIL),
    kill: async (signal) => {
      if (!alive()) return
      child.kill(signal)
      await exited
    },
  }
  try {
    await waitUntil(
      `the ${kind} process to be ready`,
      async () => {
        if (!alive()) throw new Error(`${kind} exited (${child.exitCode ?? child.signalCode}):\n${out}`)
        const res = await fetch(`${proc.url}/readyz`, { signal: AbortSignal.timeout(1000) }).catch(() => null)
        await res?.body?.cancel()
        return res?.status === 200
      },
      readyTimeoutMs,
      100,
    )
  } catch (err) {
    await proc.kill('SIGKILL')
    throw err
  }
  return proc
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
