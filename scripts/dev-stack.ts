#!/usr/bin/env tsx
/**
 * `pnpm start`: the whole service on one machine — the IMS simulator as the default target,
 * the API and the worker — against Redis at REDIS_URL (default redis://127.0.0.1:6379).
 * If no Redis answers there and `redis-server` is installed, a private one is started.
 * The simulator keeps its images and jobs in SIM_STATE_FILE (default .data/simulator-state.json,
 * gitignored) so a restart leaves no import following a job IMS has forgotten; delete the file to
 * forget them. The simulator's OBS holds the buckets and objects of scripts/dev-obs-seed.json
 * (SIM_OBS_SEED_FILE names another) and its jobs judge their file by it, as IMS does; the default
 * target reaches that OBS, so every import is checked before IMS sees it (pre-flight on).
 * Ctrl-C stops everything, in reverse order.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { Redis } from 'ioredis'

const root = join(import.meta.dirname, '..')
const env = process.env
const REDIS_URL = env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const API_PORT = env.PORT ?? '8080'
const WORKER_PORT = env.WORKER_PORT ?? '9091'
const SIM_PORT = env.SIM_PORT ?? '4600'
const SIM_URL = `http://127.0.0.1:${SIM_PORT}`
const DEV_KEY = 'dev-key'
// Real IMS never forgets a job it accepted: the simulator's images and jobs outlive a restart of
// the stack, as the imports in Redis do (apps/ims-simulator/src/state-file.ts).
const SIM_STATE_FILE = env.SIM_STATE_FILE ?? join(root, '.data', 'simulator-state.json')
// The files the demo and the README's examples name, with realistic sizes (README: "The dev
// stack's OBS"); more at run time through the simulator's control API.
const SIM_OBS_SEED_FILE = env.SIM_OBS_SEED_FILE ?? join(root, 'scripts', 'dev-obs-seed.json')

/**
 * Tenants: TENANTS_FILE or API_KEYS as given; else the dev tenant in .data/dev-tenants.json (key
 * dev-key, every target and bucket) with a callback secret kept in .data/dev-callback-secret, so
 * a receiver configured once keeps verifying across restarts.
 */
function tenantsEnv(): { vars: Record<string, string>; callbackSecret: string | null } {
  if (env.TENANTS_FILE) return { vars: { TENANTS_FILE: env.TENANTS_FILE }, callbackSecret: null }
  if (env.API_KEYS) return { vars: { API_KEYS: env.API_KEYS }, callbackSecret: null }
  const dir = join(root, '.data')
  mkdirSync(dir, { recursive: true })
  const secretFile = join(dir, 'dev-callback-secret')
  if (!existsSync(secretFile))
    writeFileSync(secretFile, `whsec_${randomBytes(32).toString('base64')}\n`, { mode: 0o600 })
  const callbackSecret = readFileSync(secretFile, 'utf8').trim()
  const file = join(dir, 'dev-tenants.json')
  const devKeyHash = createHash('sha256').update(DEV_KEY).digest('hex')
  const tenants = {
    tenants: {
      dev: {
        apiKeys: [`sha256:${devKeyHash}`],
        targets: '*',
        buckets: ['*'],
        callbackSecrets: [callbackSecret],
      },
    },
  }
  writeFileSync(file, JSON.stringify(tenants, null, 2), { mode: 0o600 })
  return { vars: { TENANTS_FILE: file }, callbackSecret }
}
const TENANTS = tenantsEnv()

const children: { name: string; proc: ChildProcess }[] = []

async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
  })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.ping()
    return true
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`${what} did not come up within ${timeoutMs / 1000} s`)
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url)
    return res.ok
  } catch {
    return false
  }
}

function start(
  name: string,
  command: string,
  args: string[],
  extraEnv: Record<string, string>,
): ChildProcess {
  const proc = spawn(command, args, {
    cwd: root,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  children.push({ name, proc })
  proc.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`[stack] ${name} exited (${signal ?? code}); stopping the stack`)
      void stop(1)
    }
  })
  return proc
}

const tsx = join(root, 'node_modules', '.bin', 'tsx')
let stopping = false

async function stop(exitCode = 0): Promise<void> {
  if (stopping) return
  stopping = true
  for (const { name, proc } of [...children].reverse()) {
    if (proc.exitCode !== null || proc.signalCode !== null) continue
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000)
      proc.once('exit', () => {
        clearTimeout(timer)
        resolve()
      })
      proc.kill('SIGTERM')
    })
    console.error(`[stack] ${name} stopped`)
  }
  process.exit(exitCode)
}

process.on('SIGINT', () => void stop(0))
process.on('SIGTERM', () => void stop(0))

async function main(): Promise<void> {
  let redisUrl = REDIS_URL
  if (!(await redisAnswers(redisUrl))) {
    if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
      console.error(
        `[stack] No Redis answers at ${redisUrl} and redis-server is not installed.\n` +
          '        Start one (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis;\n' +
          '        Docker: docker run -p 6379:6379 redis:7-alpine) or set REDIS_URL=redis://host:port.',
      )
      process.exit(1)
    }
    const port = env.LOCAL_REDIS_PORT ?? '6390'
    const dir = mkdtempSync(join(tmpdir(), 'ims-importer-redis-'))
    redisUrl = `redis://127.0.0.1:${port}`
    console.error(
      `[stack] No Redis at ${REDIS_URL}: starting a private redis-server on ${redisUrl} (data in ${dir})`,
    )
    start(
      'redis-server',
      'redis-server',
      ['--port', port, '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes'],
      {},
    )
    await waitFor('redis-server', () => redisAnswers(redisUrl))
  }

  const common = { REDIS_URL: redisUrl, IMS_SIMULATOR_URL: SIM_URL }
  // Simulated imports take seconds (not the minutes to hours of real IMS) so a demo is quick.
  const simSpeed = {
    SIM_INIT_MS: env.SIM_INIT_MS ?? '500',
    SIM_JOB_MIN_MS: env.SIM_JOB_MIN_MS ?? '2000',
    SIM_JOB_MAX_MS: env.SIM_JOB_MAX_MS ?? '5000',
    // A job runs size / throughput longer: 20 GiB/s adds 0.4 s for the demo's 8.5 GiB file and
    // 4 s for an 80 GiB one, so jobs stay seconds long and still grow with the file.
    SIM_IMPORT_BYTES_PER_SECOND: env.SIM_IMPORT_BYTES_PER_SECOND ?? String(20 * 2 ** 30),
  }
  start('ims-simulator', tsx, ['apps/ims-simulator/src/main.ts'], {
    ...common,
    ...simSpeed,
    SIM_PORT,
    SIM_LOG: env.SIM_LOG ?? 'false',
    SIM_STATE_FILE,
    SIM_OBS_SEED_FILE,
    SIM_OBS_JUDGING: env.SIM_OBS_JUDGING ?? 'true',
  })
  await waitFor('ims-simulator', () => httpOk(`${SIM_URL}/__sim/counters`))
  start('worker', tsx, ['apps/worker/src/main.ts'], { ...common, ...TENANTS.vars, WORKER_PORT })
  start('api', tsx, ['apps/api/src/main.ts'], {
    ...common,
    PORT: API_PORT,
    ...TENANTS.vars,
    DOCS_AUTH: env.DOCS_AUTH ?? 'false',
  })
  await waitFor('api', () => httpOk(`http://127.0.0.1:${API_PORT}/livez`))
  await waitFor('worker', () => httpOk(`http://127.0.0.1:${WORKER_PORT}/livez`))

  const usingDevKey = TENANTS.callbackSecret !== null
  console.log(
    [
      '',
      'ims-importer is running (Ctrl-C stops everything):',
      `  API          http://127.0.0.1:${API_PORT}/v1/imports`,
      `  API docs     http://127.0.0.1:${API_PORT}/docs`,
      `  metrics      http://127.0.0.1:${API_PORT}/metrics (API), http://127.0.0.1:${WORKER_PORT}/metrics (worker)`,
      `  IMS target   the simulator at ${SIM_URL}`,
      `  IMS state    ${relative(root, SIM_STATE_FILE) || SIM_STATE_FILE} (the simulator's images and jobs; delete it to forget them)`,
      `  OBS          ${SIM_URL} (the simulator's; files from ${relative(root, SIM_OBS_SEED_FILE) || SIM_OBS_SEED_FILE}, list: GET ${SIM_URL}/__sim/obs; pre-flight on)`,
      `  Redis        ${redisUrl}`,
      usingDevKey
        ? `  API key      Authorization: Bearer ${DEV_KEY}   (dev default, tenant "dev"; set API_KEYS or TENANTS_FILE to change)`
        : `  API key      from ${env.TENANTS_FILE ? 'TENANTS_FILE' : 'API_KEYS (no callback secrets: callbacks are not sent)'}`,
      ...(usingDevKey
        ? [
            `  callbacks    signed per Standard Webhooks with ${TENANTS.callbackSecret}   (tenant "dev"; .data/dev-callback-secret)`,
          ]
        : []),
      '  try          pnpm demo',
      '',
    ].join('\n'),
  )
}

main().catch((err) => {
  console.error(`[stack] ${(err as Error).message}`)
  void stop(1)
})
