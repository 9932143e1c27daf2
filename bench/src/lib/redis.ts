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
