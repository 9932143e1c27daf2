import {
  createImportStore,
  createLogger,
  createQueues,
  createRedis,
  enqueueSubmit,
  type ImportRecord,
  type ImportStore,
  type Keys,
  newId,
  type Queues,
  type TargetConfig,
} from '@ims-importer/core'
import { waitUntil } from '@ims-importer/testkit'
import type { Redis } from 'ioredis'
import { type DeepPartial, deepMerge, defaultWorkerConfig, type WorkerConfig } from '../../src/config.js'

// Simulator targets and worker processes come from the shared test kit (see fixtures.ts).
export { type ServiceProcess, type SimTarget, waitUntil } from '@ims-importer/testkit'

/** Fast settings for tests: short backoffs and pauses; reconciler off unless asked. */
const FAST: DeepPartial<WorkerConfig> = {
  port: 0,
  host: '127.0.0.1',
  reconcilerEnabled: false,
  shutdownDeadlineMs: 5000,
  submit: {
    retryBaseMs: 100,
    retryMaxMs: 1000,
    lookupSettleMs: 200,
    inflightWaitMs: 150,
    throttleBackoffMs: 300,
    authFailurePauseMs: 2000,
  },
}

/**
 * The fast settings in the namespace `ns` (each test file its own: core testing's testKeys),
 * `overrides` deep-merged on top.
 */
export function testConfig(
  redisUrl: string,
  ns: Keys,
  targets: TargetConfig[],
  overrides: DeepPartial<WorkerConfig> = {},
): WorkerConfig {
  return deepMerge(defaultWorkerConfig({ ...FAST, redisUrl, targets, keyPrefix: ns.prefix }), overrides)
}

export const silentLog = () => createLogger({ name: 'worker-test', level: 'silent' })

export const systemBody = (i: number, objectKey = `disks/img-${String(i).padStart(4, '0')}.zvhd2`) => ({
  name: `img-${i}`,
  image_url: `bucket:${objectKey}`,
  os_version: 'CentOS 7.0 64bit',
  min_disk: 40,
  type: 'ECS',
})

/** The API's side, as the API does it: a record in the store, then the submit job. */
export interface Intake {
  redis: Redis
  store: ImportStore
  queues: Queues
  create(
    target: string,
    request: Record<string, unknown>,
    extra?: { callback_url?: string; external_id?: string },
  ): Promise<string>
  records(ids: string[]): Promise<ImportRecord[]>
  close(): Promise<void>
}

export function createIntake(redisUrl: string, ns: Keys): Intake {
  const redis = createRedis(redisUrl)
  const store = createImportStore(redis, { keys: ns })
  const queues = createQueues(redis, ns)
  return {
    redis,
    store,
    queues,
    async create(target, request, extra = {}) {
      const id = newId('imp')
      await store.create({ id, tenant: 'tenant-a', target, request, ...extra })
      await enqueueSubmit(queues, target, id)
      return id
    },
    async records(ids) {
      return (await store.getMany(ids)).filter((r): r is ImportRecord => r !== null)
    },
    async close() {
      await queues.close()
      await redis.quit()
    },
  }
}

export const FINAL = new Set(['succeeded', 'failed', 'cancelled'])

export async function waitAllFinal(
  intake: Intake,
  ids: string[],
  timeoutMs: number,
): Promise<ImportRecord[]> {
  let records: ImportRecord[] = []
  await waitUntil(
    `${ids.length} imports final`,
    async () => {
      records = await intake.records(ids)
      return records.length === ids.length && records.every((r) => FINAL.has(r.status))
    },
    timeoutMs,
    200,
  )
  return records
}
