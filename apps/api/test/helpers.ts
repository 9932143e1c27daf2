import { createLogger, type ImportStatus, PAGE_EXAMPLES } from '@ims-importer/core'
import { hasSubmitWork, submitWorkCount, testKeys, uniqueName } from '@ims-importer/core/testing'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, expect, inject } from 'vitest'
import { buildApp } from '../src/app.js'
import { parseApiKeys } from '../src/auth.js'
import { type ApiConfig, type ApiConfigOverrides, defaultApiConfig } from '../src/config.js'
import { type ApiDeps, createApiDeps } from '../src/deps.js'
import type { App } from '../src/types.js'

/** A 202's body, once its Location is checked to name the new resource: `${collection}/${id}`. */
export function acceptedBody(res: LightMyRequestResponse, collection: string) {
  expect(res.statusCode).toBe(202)
  const body = res.json()
  expect(res.headers.location).toBe(`${collection}/${body.id}`)
  return body
}

/** The IMS API page's first example, unchanged. */
export const PAGE_EXAMPLE = PAGE_EXAMPLES.systemWithTags

/** The page's data-disk example with image_tags. */
export const DATA_DISK_EXAMPLE = PAGE_EXAMPLES.dataWithImageTags

export interface TestApi {
  app: App
  deps: ApiDeps
  /** Two fresh tenants per app, so tests never see each other's imports. */
  tenants: [string, string]
  /** Two fresh targets; the first is the default. */
  targets: [string, string]
  /** `Authorization` header value for a tenant. */
  auth(tenant: string): { authorization: string }
  /** POSTs `body` (an object as JSON, a string as is) to `url` as `tenant`, with `headers`. */
  post(
    url: string,
    tenant: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<LightMyRequestResponse>
  /** Imports of a target with submit work waiting: submit jobs, and outbox entries no worker has moved yet. */
  submitJobs(target: string): Promise<number>
  /** Whether an import has submit work waiting (its outbox entry or its job). */
  hasSubmitJob(target: string, importId: string): Promise<boolean>
  close(): Promise<void>
}

/**
 * A test's config: its own namespace (keys and queues) on the shared Redis, so test files run in
 * parallel, and no rate limit in the way.
 */
export function testConfig(redisUrl: string, overrides: ApiConfigOverrides = {}): ApiConfig {
  return defaultApiConfig({
    port: 0,
    redisUrl,
    keyPrefix: testKeys('api').prefix,
    logLevel: 'silent',
    apiKeys: [],
    usingDevKey: false,
    docsAuth: false,
    rateLimitPerMinute: 100_000,
    shutdownDeadlineMs: 5000,
    targets: [],
    ...overrides,
  })
}

const freshNames = () => ({
  tenants: [uniqueName('ta'), uniqueName('tb')] as [string, string],
  targets: [uniqueName('t1'), uniqueName('t2')] as [string, string],
})

/**
 * The test file's app (see startTestApi): started before its tests and closed after them. Its
 * tenants and targets are there at once; the rest once the file's tests run.
 */
export function useTestApi(overrides: ApiConfigOverrides = {}): TestApi {
  const names = freshNames()
  const api = { ...names } as TestApi
  beforeAll(async () => {
    Object.assign(api, await startTestApi(inject('redisUrl'), overrides, undefined, names))
  })
  afterAll(async () => {
    await api.close?.()
  })
  return api
}

/** An app on the real Redis with fresh tenants (`<tenant>:key-<tenant>`) and fresh targets. */
export async function startTestApi(
  redisUrl: string,
  overrides: ApiConfigOverrides = {},
  adjust: (deps: ApiDeps) => ApiDeps = (d) => d,
  { tenants, targets } = freshNames(),
): Promise<TestApi> {
  const config = testConfig(redisUrl, {
    apiKeys: parseApiKeys(tenants.map((t) => `${t}:key-${t}`).join(','), 'API_KEYS'),
    targets,
    ...overrides,
  })
  const deps = adjust(createApiDeps(config, { log: createLogger({ name: 'api-test', level: 'silent' }) }))
  const app = buildApp(deps)
  await app.ready()
  const auth = (tenant: string) => ({ authorization: `Bearer key-${tenant}` })
  return {
    app,
    deps,
    tenants,
    targets,
    auth,
    post: (url, tenant, body, headers = {}) =>
      app.inject({
        method: 'POST',
        url,
        headers: { ...auth(tenant), ...headers },
        payload: body as string | object,
      }),
    // No worker drains the outbox here: an accepted import's submit work is its outbox entry.
    submitJobs: (target) => submitWorkCount(deps.redis, deps.queues, target),
    hasSubmitJob: (target, importId) => hasSubmitWork(deps.redis, deps.queues, target, importId),
    close: () => app.close(),
  }
}

export const statuses = (items: { status: ImportStatus }[]) => items.map((i) => i.status)
