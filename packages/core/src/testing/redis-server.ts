import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { isClusterUrl, parseClusterUrl } from '../redis.js'

/** A Redis for tests: where it came from, its URL, and how to let it go. */
export interface TestRedis {
  url: string
  source: 'env' | 'testcontainers' | 'redis-server' | 'redis-cluster'
  stop(): Promise<void>
  /** Only for a private redis-server: kill it (SIGKILL) to simulate a crash. */
  kill?(): Promise<void>
  /** Only for a private redis-server: start it again on the same port and directory. */
  restart?(): Promise<void>
}

/** Reads REDIS_URL, REDIS_CLUSTER and DOCKER_HOST. */
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

/**
 * Waits until Redis at `url` answers PING. For a `redis+cluster://` URL: until every listed node
 * answers and reports `cluster_state:ok` (all slots served).
 */
export async function waitForRedis(url: string, timeoutMs = 10_000): Promise<void> {
  if (isClusterUrl(url)) return waitForCluster(url, timeoutMs)
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

async function waitForCluster(url: string, timeoutMs: number): Promise<void> {
  const { nodes, username, password } = parseClusterUrl(url)
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    const states = await Promise.all(
      nodes.map(async ({ host, port }) => {
        const client = new Redis({
          host,
          port,
          ...(username ? { username } : {}),
          ...(password ? { password } : {}),
          lazyConnect: true,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        })
        client.on('error', () => {})
        try {
          await client.connect()
          const info = String(await client.call('CLUSTER', 'INFO'))
          return /cluster_state:ok/.test(info) ? 'ok' : `${host}:${port} cluster_state not ok`
        } catch (err) {
          return `${host}:${port} ${String(err)}`
        } finally {
          client.disconnect()
        }
      }),
    )
    const bad = states.filter((s) => s !== 'ok')
    if (bad.length === 0) return
    last = bad.join('; ')
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`Redis Cluster at ${url} was not ready within ${timeoutMs} ms: ${last}`)
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

export interface RedisClusterOptions {
  /** Number of masters (no replicas); at least 3, as redis-cli --cluster create requires. */
  masters?: number
  /** Extra redis-server arguments for every node. */
  args?: string[]
}

/** A private Redis Cluster: its `redis+cluster://` URL names every master. */
export interface TestRedisCluster extends TestRedis {
  source: 'redis-cluster'
  /** The masters' client ports. */
  ports: number[]
  kill(): Promise<void>
  restart(): Promise<void>
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout?.on('data', (d) => {
      output += d
    })
    child.stderr?.on('data', (d) => {
      output += d
    })
    child.on('error', (err) => resolve({ code: -1, output: `${output}${String(err)}` }))
    child.on('exit', (code) => resolve({ code, output }))
  })
}

/**
 * Starts a private Redis Cluster: `masters` redis-server processes with
 * `--cluster-enabled yes` (each its own port, cluster bus port and nodes file in one temp
 * directory), joined by `redis-cli --cluster create ... --cluster-replicas 0 --cluster-yes`.
 * Resolves when every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<TestRedisCluster> {
  const masters = options.masters ?? 3
  if (masters < 3) throw new Error('a Redis Cluster needs at least 3 masters')
  const dir = mkdtempSync(join(tmpdir(), 'ims-importer-redis-cluster-'))
  const nodes: { port: number; busPort: number; child?: ChildProcess }[] = []
  const taken = new Set<number>()
  const pick = async () => {
    for (;;) {
      const p = await freePort()
      if (!taken.has(p)) {
        taken.add(p)
        return p
      }
    }
  }
  for (let i = 0; i < masters; i++) nodes.push({ port: await pick(), busPort: await pick() })
  const url = `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`

  const launch = async () => {
    for (const n of nodes) {
      n.child = spawn(
        'redis-server',
        [
          '--port',
          String(n.port),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--save',
          '',
          '--cluster-enabled',
          'yes',
          // The bus port is chosen too: port + 10000 may be taken or above 65535.
          '--cluster-port',
          String(n.busPort),
          '--cluster-config-file',
          `nodes-${n.port}.conf`,
          '--cluster-node-timeout',
          '5000',
          ...(options.args ?? []),
        ],
        { stdio: 'ignore' },
      )
      n.child.on('error', () => {})
    }
    await Promise.all(nodes.map((n) => waitForRedis(`redis://127.0.0.1:${n.port}`)))
  }
  const killAll = async (signal: NodeJS.Signals) => {
    await Promise.all(
      nodes.map(async (n) => {
        const c = n.child
        if (!c || c.exitCode !== null || c.signalCode !== null) return
        await new Promise<void>((resolve) => {
          c.once('exit', () => resolve())
          c.kill(signal)
        })
      }),
    )
  }
  const stop = async () => {
    await killAll('SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  }

  try {
    await launch()
    const created = await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ])
    if (created.code !== 0)
      throw new Error(`redis-cli --cluster create failed (${created.code}): ${created.output}`)
    await waitForRedis(url, 20_000)
  } catch (err) {
    await stop()
    throw err
  }
  return {
    url,
    source: 'redis-cluster',
    ports: nodes.map((n) => n.port),
    kill: () => killAll('SIGKILL'),
    // Same ports and nodes files: the nodes find each other again.
    restart: async () => {
      await launch()
      await waitForRedis(url, 20_000)
    },
    stop,
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

const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v.trim())

/**
 * The one way tests get Redis: REDIS_URL if set (a `redis+cluster://` URL names a cluster);
 * else, with REDIS_CLUSTER=1, a private three-master Redis Cluster (needs redis-server and
 * redis-cli); else testcontainers when a Docker engine answers; else a private redis-server on
 * a free port; else an error that says what to do.
 */
export async function provideTestRedis(env: TestRedisEnv): Promise<TestRedis> {
  if (env.REDIS_URL) {
    await waitForRedis(env.REDIS_URL)
    return { url: env.REDIS_URL, source: 'env', stop: async () => {} }
  }
  if (truthy(env.REDIS_CLUSTER)) {
    if (!hasRedisServerBinary())
      throw new Error('REDIS_CLUSTER=1 needs redis-server and redis-cli (apt-get install redis-server)')
    return startRedisCluster()
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
