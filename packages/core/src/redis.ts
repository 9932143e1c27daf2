import { createHash } from 'node:crypto'
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis'

export type { Cluster, Redis }

export interface RedisConnectionOptions {
  /**
   * For request paths (API): fail fast when Redis is away instead of queueing commands
   * offline, so a caller gets a 503 within a second. Workers use the BullMQ-friendly
   * defaults (retry forever, `maxRetriesPerRequest: null`).
   */
  failFast?: boolean
  connectionName?: string
  /**
   * Commands issued in the same event-loop turn go out in one write (ioredis auto-pipelining).
   * Best on a connection without many defineCommand scripts: ioredis copies each onto every
   * pipeline it builds (BullMQ defines about fifty on the connection it is given).
   */
  autoPipelining?: boolean
}

/** URL scheme of a Redis Cluster: `redis+cluster://[user:password@]host:port,host:port,...`. */
export const CLUSTER_URL_SCHEME = 'redis+cluster:'

export interface ClusterUrl {
  nodes: { host: string; port: number }[]
  username: string | undefined
  password: string | undefined
}

/** Whether `url` names a Redis Cluster (the `redis+cluster://` scheme) rather than one server. */
export const isClusterUrl = (url: string): boolean => url.toLowerCase().startsWith(`${CLUSTER_URL_SCHEME}//`)

/**
 * Parses `redis+cluster://[user:password@]host:port,host:port`: the seed nodes (any few masters;
 * the client learns the rest from CLUSTER SLOTS) and the credentials shared by all nodes.
 * Errors never repeat the password.
 */
export function parseClusterUrl(url: string): ClusterUrl {
  if (!isClusterUrl(url)) throw new Error(`not a ${CLUSTER_URL_SCHEME}// URL`)
  let rest = url.slice(CLUSTER_URL_SCHEME.length + 2)
  const slash = rest.indexOf('/')
  if (slash >= 0) rest = rest.slice(0, slash)
  let username: string | undefined
  let password: string | undefined
  const at = rest.lastIndexOf('@')
  if (at >= 0) {
    const auth = rest.slice(0, at)
    rest = rest.slice(at + 1)
    const colon = auth.indexOf(':')
    username = decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : '') || undefined
    password = colon >= 0 ? decodeURIComponent(auth.slice(colon + 1)) : decodeURIComponent(auth)
  }
  const nodes = rest
    .split(',')
    .filter((n) => n.length > 0)
    .map((n) => {
      const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(n)
      if (!m?.[1]) throw new Error(`${CLUSTER_URL_SCHEME}// URL: bad node "${n}"`)
      return { host: m[1].replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : 6379 }
    })
  if (nodes.length === 0) throw new Error(`${CLUSTER_URL_SCHEME}// URL: no nodes`)
  return { nodes, username, password }
}

/** Reconnect forever, backing off to 2 s: Redis coming back must be picked up without a restart. */
const reconnect = (times: number) => Math.min(100 * times, 2000)

/**
 * One connection for `url`: `redis://` / `rediss://` give one server, `redis+cluster://` gives an
 * ioredis Cluster seeded with the listed nodes. `failFast` behaves the same on both.
 *
 * The return type stays ioredis' `Redis` so that every caller keeps compiling; for a cluster URL
 * the object is a `Cluster` (test with `isCluster`). Both answer the commands the service uses
 * (single-key commands, EVAL/EVALSHA with all keys in KEYS, MULTI on one slot, PING, QUIT), and
 * BullMQ accepts either. Every key of the service carries the `{ims}` hash tag: one slot.
 */
export function createRedis(url: string, options: RedisConnectionOptions = {}): Redis {
  const perRequest: RedisOptions = options.failFast
    ? { maxRetriesPerRequest: 0, connectTimeout: 1000, commandTimeout: 1000 }
    : { maxRetriesPerRequest: null }
  if (isClusterUrl(url)) {
    const { nodes, username, password } = parseClusterUrl(url)
    const clusterOptions: ClusterOptions = {
      clusterRetryStrategy: reconnect,
      enableOfflineQueue: !options.failFast,
      // A cluster that is down (a master away) answers CLUSTERDOWN: retry shortly, as for a reconnect.
      retryDelayOnClusterDown: 200,
      enableAutoPipelining: options.autoPipelining === true,
      redisOptions: {
        connectionName: options.connectionName,
        ...(username ? { username } : {}),
        ...(password ? { password } : {}),
        ...perRequest,
      },
    }
    return new Cluster(nodes, clusterOptions) as unknown as Redis
  }
  return new Redis(url, {
    connectionName: options.connectionName,
    enableAutoPipelining: options.autoPipelining === true,
    retryStrategy: reconnect,
    ...(options.failFast ? { enableOfflineQueue: false } : {}),
    ...perRequest,
  })
}

/** Whether a connection made by createRedis is a Redis Cluster client. */
export const isCluster = (redis: Redis | Cluster): redis is Cluster =>
  (redis as { isCluster?: boolean }).isCluster === true

/** A Lua script and its SHA-1, for runScript. */
export interface LuaScript {
  lua: string
  sha: string
}

export const luaScript = (lua: string): LuaScript => ({
  lua,
  sha: createHash('sha1').update(lua).digest('hex'),
})

/**
 * Runs `script` by EVALSHA; a server whose script cache is empty (a restart, a fresh server)
 * answers NOSCRIPT and is sent the text once by EVAL. Not defineCommand: ioredis copies every
 * defined command onto each pipeline it builds.
 */
export async function runScript(
  redis: Redis,
  script: LuaScript,
  keyList: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await redis.evalsha(script.sha, keyList.length, ...keyList, ...args)
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('NOSCRIPT'))
      return redis.eval(script.lua, keyList.length, ...keyList, ...args)
    throw err
  }
}
