import { createMetricsRegistry } from '@ims-importer/core'
import { Counter, Histogram, type Registry } from 'prom-client'

/** Why a POST /v1/imports or /v1/batches (or a batch item) was not accepted. */
export type RejectReason =
  | 'validation'
  | 'idempotency_conflict'
  | 'idempotency_in_progress'
  | 'auth'
  | 'rate_limited'
  | 'unavailable'
  | 'body_too_large'
  | 'unsupported_media_type'
  | 'other'

export interface ApiMetrics {
  registry: Registry
  httpDuration: Histogram<'route' | 'method' | 'status_code'>
  accepted: Counter<'target'>
  rejected: Counter<'reason'>
  replays: Counter
  batchSize: Histogram
}

/** The API's metrics, in their own registry (never prom-client's global one). No ids as labels. */
export function createApiMetrics(registry: Registry = createMetricsRegistry('api')): ApiMetrics {
  return {
    registry,
    httpDuration: new Histogram({
      name: 'ims_importer_http_request_duration_seconds',
      help: 'Time from receiving an HTTP request to sending its answer, in seconds, by route template, method and status code',
      labelNames: ['route', 'method', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    accepted: new Counter({
      name: 'ims_importer_imports_accepted_total',
      help: 'Imports accepted (recorded and queued, answered 202), by target; batch items count one each',
      labelNames: ['target'],
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'ims_importer_imports_rejected_total',
      help: 'Import requests and batch items not accepted, by reason (validation, idempotency_conflict, auth, rate_limited, unavailable, ...)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    replays: new Counter({
      name: 'ims_importer_idempotent_replays_total',
      help: 'Requests answered with the stored response of an earlier request with the same Idempotency-Key and body',
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'ims_importer_batch_size_items',
      help: 'Items per POST /v1/batches request (valid and invalid)',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers: [registry],
    }),
  }
}
