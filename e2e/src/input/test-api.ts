import {
  type ApiConfig,
  type ApiDeps,
  type App,
  buildApp,
  createApiDeps,
  defaultApiConfig,
  parseApiKeys,
} from '@ims-importer/api'
import { createLogger, type Keys } from '@ims-importer/core'
import { uniqueName } from '@ims-importer/core/testing'
import { createLogCapture, type LogCapture } from './log-capture.js'

/**
 * The API's config for tests: real Redis in the namespace `ns` (each test file its own: core
 * testing's testKeys), no dev key, generous limits unless overridden.
 */
export function apiTestConfig(redisUrl: string, ns: Keys, overrides: Partial<ApiConfig> = {}): ApiConfig {
  return defaultApiConfig({
    port: 0,
    redisUrl,
    keyPrefix: ns.prefix,
    logLevel: 'info',
    apiKeys: [],
    usingDevKey: false,
    docsAuth: false,
    rateLimitPerMinute: 1_000_000,
    shutdownDeadlineMs: 5000,
    targets: [],
    ...overrides,
  })
}

export interface TestApi {
  app: App
  deps: ApiDeps
  config: ApiConfig
  /** Two fresh tenants. */
  tenants: [string, string]
  /** Fresh targets; the first is the default. */
  targets: [string, string]
  /** The plaintext API key of a tenant (`key-<tenant>`). */
  keyOf(tenant: string): string
  auth(tenant: string): { authorization: string }
  /** Everything the app logged (level info and up unless `logLevel` says otherwise). */
  logs: LogCapture
  /** http://127.0.0.1:port once `listen()` was called. */
  listen(): Promise<string>
  close(): Promise<void>
}

export interface TestApiOptions {
  config?: Partial<ApiConfig>
  /** Tenants and targets to use instead of fresh ones (a restarted app sees the same data). */
  tenants?: [string, string]
  targets?: [string, string]
  /** `tenant:key` pairs instead of `<tenant>:key-<tenant>` for both tenants. */
  apiKeys?: string
  logs?: LogCapture
}

/** The intake API in-process on the real Redis, in the namespace `ns`, with its log captured. */
export async function startTestApi(
  redisUrl: string,
  ns: Keys,
  options: TestApiOptions = {},
): Promise<TestApi> {
  const tenants = options.tenants ?? [uniqueName('ta'), uniqueName('tb')]
  const targets = options.targets ?? [uniqueName('t1'), uniqueName('t2')]
  const keyOf = (tenant: string) => `key-${tenant}`
  const config = apiTestConfig(redisUrl, ns, {
    apiKeys: parseApiKeys(options.apiKeys ?? tenants.map((t) => `${t}:${keyOf(t)}`).join(','), 'API_KEYS'),
    targets,
    ...options.config,
  })
  const logs = options.logs ?? createLogCapture()
  const deps = createApiDeps(config, {
    log: createLogger({ name: 'api', level: config.logLevel }, logs.stream),
  })
  const app = buildApp(deps)
  await app.ready()
  return {
    app,
    deps,
    config,
    tenants: tenants as [string, string],
    targets: targets as [string, string],
    keyOf,
    auth: (tenant) => ({ authorization: `Bearer ${keyOf(tenant)}` }),
    logs,
    listen: async () => {
      await app.listen({ port: 0, host: '127.0.0.1' })
      const address = app.server.address()
      return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
    },
    close: () => app.close(),
  }
}
