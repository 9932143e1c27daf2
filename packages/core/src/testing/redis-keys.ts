import { type Cluster, isCluster, type Redis } from '../redis.js'

/** KEYS on one server, or on every master of a cluster (a cluster client sends KEYS to one node). */
export async function keysEverywhere(redis: Redis | Cluster, pattern: string): Promise<string[]> {
  const nodes = isCluster(redis) ? (redis as Cluster).nodes('master') : [redis as Redis]
  return (await Promise.all(nodes.map((node) => node.keys(pattern)))).flat()
}
