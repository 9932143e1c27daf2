export { type AccessPolicy, type ApiDeps, type App, buildApp } from './app.js'
export { type ApiKeyEntry, parseApiKeys } from './auth.js'
export { type ApiConfig, ApiEnv, DEV_API_KEYS, defaultApiConfig, loadApiConfig } from './config.js'
export { createApiDeps } from './deps.js'
export { type ApiMetrics, createApiMetrics } from './metrics.js'
export { HttpProblem, Problem, type ProblemKind } from './problem.js'
export {
  BatchAccepted,
  BatchView,
  ImportPage,
  ImportRequestBody,
  ImportView,
} from './schemas.js'
