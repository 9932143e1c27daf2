export { buildApp } from './app.js'
export { type ApiKeyEntry, parseApiKeys } from './auth.js'
export {
  ApiConfig,
  type ApiConfigOverrides,
  ApiEnv,
  DEV_API_KEYS,
  defaultApiConfig,
  loadApiConfig,
} from './config.js'
export { type ApiDeps, createApiDeps } from './deps.js'
export { type ApiMetrics, createApiMetrics } from './metrics.js'
export { HttpProblem, Problem, type ProblemKind } from './problem.js'
export {
  BatchAccepted,
  BatchView,
  ImportPage,
  ImportRequestBody,
  ImportView,
} from './schemas.js'
export type { AccessPolicy, App } from './types.js'
