import { type ChildProcess, spawn } from 'node:child_process'
import { REPO_ROOT } from './paths.js'

export interface Started {
  name: string
  child: ChildProcess
  /** What the process wrote so far, for failure messages. */
  output(): string
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>
}

/** Starts a command with only the env given (plus PATH), collecting its output. */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  cwd = REPO_ROOT,
): Started {
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const keep = (d: Buffer) => {
    out += d
    // Keep the tail only: enough for a failure message.
    if (out.length > 64_000) out = out.slice(-32_000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  child.on('error', (err) => {
    out += `\n[spawn error] ${err.message}`
  })
  return {
    name,
    child,
    output: () => out,
    stop: (graceMs = 10_000) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
        child.once('exit', () => {
          clearTimeout(timer)
          resolve()
        })
        child.kill('SIGTERM')
      }),
  }
}

/** Polls `check` until it returns true; fails early if a watched process has exited. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  options: { timeoutMs?: number; everyMs?: number; watch?: Started[] } = {},
): Promise<void> {
  const { timeoutMs = 20_000, everyMs = 200, watch = [] } = options
  const deadline = Date.now() + timeoutMs
  for (;;) {
    for (const p of watch)
      if (p.child.exitCode !== null || p.child.signalCode !== null)
        throw new Error(
          `${p.name} exited (${p.child.exitCode ?? p.child.signalCode}) while waiting for ${what}:\n${p.output()}`,
        )
    if (await check().catch(() => false)) return
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${watch.map((p) => `\n--- ${p.name}:\n${p.output()}`).join('')}`,
      )
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
