import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** What every scenario gets from its entry point (run-all.ts or a scenario run alone). */
export interface BenchContext {
  /** The environment children inherit (PATH, HOME ...); scenarios set their own variables on top. */
  env: Record<string, string | undefined>
  /** The repository root. */
  root: string
  /** A progress line on stderr, prefixed with the scenario and the time since it started. */
  progress(message: string): void
}

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

export function createContext(env: Record<string, string | undefined>, label = 'bench'): BenchContext {
  const started = Date.now()
  return {
    env,
    root: REPO_ROOT,
    progress: (message) =>
      process.stderr.write(`[${label} +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`),
  }
}

/** The same context with another label (one per scenario). */
export function scoped(ctx: BenchContext, label: string): BenchContext {
  return createContext(ctx.env, label)
}

/**
 * The inherited environment without variables that would point a child at another Redis, key
 * namespace or IMS, with `extra` on top.
 */
export function childEnv(
  ctx: BenchContext,
  extra: Record<string, string>,
): Record<string, string | undefined> {
  const {
    REDIS_URL: _r,
    REDIS_KEY_PREFIX: _p,
    IMS_TARGETS_FILE: _t,
    IMS_ENDPOINT: _e,
    IMS_SIMULATOR_URL: _s,
    API_KEYS: _k,
    NODE_OPTIONS: _n,
    ...rest
  } = ctx.env
  return { ...rest, ...extra }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
