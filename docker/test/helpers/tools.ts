import { spawnSync } from 'node:child_process'

/**
 * Fails with a message saying how to get prometheus/promtool when they are missing: these tests
 * must not pass by skipping on a machine without them.
 */
export function requireTool(name: 'prometheus' | 'promtool'): string {
  const probe = spawnSync(name, ['--version'], { encoding: 'utf8' })
  if (probe.error || probe.status !== 0)
    throw new Error(
      `${name} is not installed (or not on PATH). Install it with: apt-get install -y prometheus ` +
        '(the Debian package brings both prometheus and promtool; .ci/run installs it in CI).',
    )
  return name
}

export interface RunResult {
  status: number | null
  stdout: string
  stderr: string
}

/** Runs a command to its end (short commands only: promtool checks). */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; input?: string } = {},
): RunResult {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000, ...options })
  if (r.error) throw r.error
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}
