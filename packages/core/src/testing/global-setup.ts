import type { TestProject } from 'vitest/node'
import { provideTestRedis, type TestRedis } from './redis-server.js'

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string
  }
}

let redis: TestRedis | undefined

/** vitest global setup: one Redis for the whole run, handed to tests as inject('redisUrl'). */
export default async function setup(project: TestProject) {
  redis = await provideTestRedis(process.env)
  project.provide('redisUrl', redis.url)
  return async () => {
    await redis?.stop()
  }
}
