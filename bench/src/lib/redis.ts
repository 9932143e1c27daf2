import { spawnSync } from 'node:child_process'
import { startRedisServer, type TestRedis } from '@ims-importer/core/testing'
import { Redis } from 'ioredis'

/**
 * A private redis-server for one scenario (never the machine's Redis on 6379): no persistence,
 * so memory figures are the dataset's alone and nothing is written to disk.
 */
export async function privateRedis(): Promise<TestRedis> {
  return startRedisServer({ args: ['--appendonly', 'no', '--maxmemory', '0'] })
}

export function redisServerVersion(): string {
  const out = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  return /v=(\S+)/.exec(out.stdout ?? '')?.[1] ?? 'unknown'
}

/** Fields of INFO memory as numbers (used_memory, used_memory_dataset ...). */
export async function infoMemory(url: string): Promise<Record<string, number>> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 })
  try {
    const text = await client.info('memory')
    const out: Record<string, number> = {}
    for (const line of text.split('\r\n')) {
      const [k, v] = line.split(':')
      if (k && v !== undefined && /^\d+(\.\d+)?$/.test(v)) out[k] = Number(v)
    }
    return out
  } finally {
    client.disconnect()
  }
}

export interface RedisLoad {
  /** Commands executed (scripts' inner commands included), from INFO commandstats. */
  calls: number
  /** Redis CPU seconds (user + sys, main thread), from INFO cpu. */
  cpuS: number
}

/** A snapshot to subtract: what Redis did between two calls is `diffLoad(after, before)`. */
export async function redisLoad(url: string): Promise<RedisLoad> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 })
  try {
    const stats = await client.info('commandstats')
    const cpu = await client.info('cpu')
    let calls = 0
    for (const m of stats.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) calls += Number(m[1])
    const num = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0)
    return { calls, cpuS: num('used_cpu_user') + num('used_cpu_sys') }
  } finally {
    client.disconnect()
  }
}

export const diffLoad = (after: RedisLoad, before: RedisLoad): RedisLoad => ({
  calls: after.calls - before.calls,
  cpuS: after.cpuS - before.cpuS,
})
