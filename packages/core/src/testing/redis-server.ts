import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

/** A Redis for tests: where it came from, its URL, and how to let it go. */
export interface TestRedis {
  url: string
  source: 'env' | 'testcontainers' | 'redis-server'
  stop(): Promise<void>
  /** Only for a private redis-server: kill it (SIGKILL) to simulate a crash. */
  kill?(): Promise<void>
  /** Only for a private redis-server: start it again on the same port and directory. */
  restart?(): Promise<void>
}

/** Reads REDIS_URL and DOCKER_HOST. */
export type TestRedisEnv = Record<string, string | undefined>

export interface RedisServerOptions {
  /** Extra redis-server arguments, for example ['--appendonly', 'yes']. */
  args?: string[]
  port?: number
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

export async function waitForRedis(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastErr: unknown
  while (Date.now() < deadline) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    client.on('error', () => {})
    try {
      await client.connect()
      await client.ping()
      client.disconnect()
      return
    } catch (err) {
      lastErr = err
      client.disconnect()
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  throw new Error(`Redis at ${url} did not answer within ${timeoutMs} ms: ${String(lastErr)}`)
}

function hasRedisServerBinary(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0
}

function dockerEngineLikely(env: TestRedisEnv): boolean {
  return Boolean(env.DOCKER_HOST) || existsSync('/var/run/docker.sock')
}

/** Spawns a private redis-server on a free port with its own temp dir; nothing is shared with other runs. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<TestRedis> {
  const port = options.port ?? (await freePort())
  const dir = mkdtempSync(join(tmpdir(), 'ims-importer-redis-'))
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | undefined

  const launch = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...(options.args ?? [])],
      { stdio: 'ignore' },
    )
    child.on('error', () => {})
    await waitForRedis(url)
  }
  const killChild = async (signal: NodeJS.Signals) => {
    const c = child
    if (!c || c.exitCode !== null || c.signalCode !== null) return
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve())
      c.kill(signal)
    })
  }

  await launch()
  return {
    url,
    source: 'redis-server',
    kill: () => killChild('SIGKILL'),
    restart: launch,
    stop: async () => {
      await killChild('SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function startTestcontainersRedis(): Promise<TestRedis> {
  const { GenericContainer, Wait } = await import('testcontainers')
  const container = await new GenericContainer('redis:7-alpine')
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
    .start()
  const url = `redis://${container.getHost()}:${container.getMappedPort(6379)}`
  return { url, source: 'testcontainers', stop: async () => void (await container.stop()) }
}

/**
 * The one way tests get Redis: REDIS_URL if set; else testcontainers when a Docker engine
 * answers; else a private redis-server on a free port; else an error that says what to do.
 */
export async function provideTestRedis(env: TestRedisEnv): Promise<TestRedis> {
  if (env.REDIS_URL) {
    await waitForRedis(env.REDIS_URL)
    return { url: env.REDIS_URL, source: 'env', stop: async () => {} }
  }
  if (dockerEngineLikely(env)) {
    try {
      return await startTestcontainersRedis()
    } catch {
      // No engine answered after all: fall through to a local binary.
    }
  }
  if (hasRedisServerBinary()) return startRedisServer()
  throw new Error(
    'Tests need Redis. Set REDIS_URL=redis://host:port, or start a Docker engine (testcontainers), ' +
      'or install redis-server (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis).',
  )
}
