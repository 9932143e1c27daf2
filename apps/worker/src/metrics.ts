import { createMetricsRegistry, type Queues, type Redis, type TargetConfig } from '@ims-importer/core'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { Inflight } from './inflight.js'

/** Queue states reported by ims_importer_queue_jobs. */
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'prioritized'] as const

/**
 * The worker's metrics, in their own registry. Labels are bounded: target names, operations,
 * outcomes, HTTP status codes and IMS error codes, never an import, job or image id.
 */
export function createWorkerMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry: Registry = createMetricsRegistry('worker', options)
  const submissions = new Counter({
    name: 'ims_importer_submissions_total',
    help: 'Submit attempts by target and outcome (submitted, adopted, throttled, transient, uncertain, permanent, auth, cap_full, image_quota, skipped, policy_denied: the tenant policy no longer allows it, no POST).',
    labelNames: ['target', 'outcome'],
    registers: [registry],
  })
  const imsRequests = new Counter({
    name: 'ims_importer_ims_requests_total',
    help: 'HTTP exchanges with IMS/IAM by target, operation and HTTP status ("none" when no response arrived).',
    labelNames: ['target', 'operation', 'status'],
    registers: [registry],
  })
  const imsLatency = new Histogram({
    name: 'ims_importer_ims_request_duration_seconds',
    help: 'Duration of HTTP exchanges with IMS/IAM, from send to the end of the response body.',
    labelNames: ['target', 'operation'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  })
  const throttles = new Counter({
    name: 'ims_importer_throttle_events_total',
    help: 'IMS flow-control answers (429 APIG.0308, IMG.0060, IMG.0194) by target, operation and code.',
    labelNames: ['target', 'operation', 'code'],
    registers: [registry],
  })
  const polls = new Counter({
    name: 'ims_importer_polls_total',
    help: 'Status polls by target and the status IMS reported (INIT, RUNNING, SUCCESS, FAIL, image states, or error).',
    labelNames: ['target', 'ims_status'],
    registers: [registry],
  })
  const finals = new Counter({
    name: 'ims_importer_imports_final_total',
    help: 'Imports that reached a final state, by target, result and error code ("" when none).',
    labelNames: ['target', 'result', 'error_code'],
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'ims_importer_import_duration_seconds',
    help: 'Time from acceptance (record created) to the final state.',
    labelNames: ['target', 'result'],
    buckets: [1, 5, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400],
    registers: [registry],
  })
  const callbacks = new Counter({
    name: 'ims_importer_callback_deliveries_total',
    help: 'Callback delivery attempts by outcome (delivered, retry, failed, rejected).',
    labelNames: ['outcome'],
    registers: [registry],
  })
  const repairs = new Counter({
    name: 'ims_importer_reconciler_repairs_total',
    help: 'Repairs made by the reconciler, by kind (submit_requeued, poll_requeued, callback_requeued, inflight_added, inflight_removed, poll_overdue).',
    labelNames: ['kind'],
    registers: [registry],
  })

  const placeBusy = new Counter({
    name: 'ims_importer_place_busy_seconds_total',
    help: "Place-time (seconds of the in-flight cap) held while IMS ran the import's job: submit to IMS's end_time, per finished import.",
    labelNames: ['target'],
    registers: [registry],
  })
  const placeIdle = new Counter({
    name: 'ims_importer_place_idle_seconds_total',
    help: "Place-time held after IMS had ended the job, until a poll saw it: IMS's end_time to detection, per finished import.",
    labelNames: ['target'],
    registers: [registry],
  })
  const detectionLatency = new Histogram({
    name: 'ims_importer_detection_latency_ratio',
    help: "Detection latency (IMS's end_time to the poll that saw it) as a share of the job's duration.",
    labelNames: ['target'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.2, 0.35, 0.5, 1],
    registers: [registry],
  })
  const pollsPerImport = new Histogram({
    name: 'ims_importer_polls_per_import',
    help: 'Job-status polls an import needed, counted when it ends.',
    labelNames: ['target'],
    buckets: [1, 2, 3, 5, 8, 12, 20, 35, 60, 100, 200],
    registers: [registry],
  })
  const pollGate = new Counter({
    name: 'ims_importer_poll_gate_total',
    help: "Polls by the decision of the target's job-status GET budget (admitted, deferred).",
    labelNames: ['target', 'decision'],
    registers: [registry],
  })
  const submissionsPaused = new Gauge({
    name: 'ims_importer_target_submissions_paused',
    help: "1 while a target's submissions are paused, by reason (image_quota: IMS answered IMG.0015 or no free quota).",
    labelNames: ['target', 'reason'],
    registers: [registry],
  })
  const imageQuota = new Gauge({
    name: 'ims_importer_image_quota',
    help: "The target's private-image quota as IMS last reported it (GET /v1/cloudimages/quota): kind used or quota.",
    labelNames: ['target', 'kind'],
    registers: [registry],
  })

  const preflight = new Counter({
    name: 'ims_importer_preflight_checks_total',
    help: "Pre-flight checks of image files in OBS (docs/preflight.md) by target and outcome (passed, failed, unchecked, unavailable) and code ('' when none).",
    labelNames: ['target', 'outcome', 'code'],
    registers: [registry],
  })
  const preflightDuration = new Histogram({
    name: 'ims_importer_preflight_duration_seconds',
    help: 'Time one pre-flight check took (its OBS reads, judged; the file is written by the step after it).',
    labelNames: ['target'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })

  return {
    registry,
    preflight,
    preflightDuration,
    placeBusy,
    placeIdle,
    detectionLatency,
    pollsPerImport,
    pollGate,
    submissionsPaused,
    imageQuota,
    submissions,
    throttles,
    polls,
    finals,
    duration,
    callbacks,
    repairs,
    observeImsResponse(
      target: string,
      info: { operation: string; status: number | null; code: string | null; durationMs: number },
    ) {
      imsRequests.inc({
        target,
        operation: info.operation,
        status: info.status === null ? 'none' : String(info.status),
      })
      imsLatency.observe({ target, operation: info.operation }, info.durationMs / 1000)
    },
    /** Gauges read from Redis at scrape time: in-flight and cap per target, queue depth per state. */
    bindCollectors(deps: { inflight: Inflight; queues: Queues; targets: TargetConfig[]; redis: Redis }) {
      new Gauge({
        name: 'ims_importer_submit_outbox_entries',
        help: 'Imports accepted by the API whose submit job a worker has not added yet (the submit outbox; all targets).',
        registers: [registry],
        async collect() {
          this.set(await deps.redis.llen(deps.queues.keys.submitOutbox))
        },
      })
      new Gauge({
        name: 'ims_importer_inflight_imports',
        help: 'Imports counted against the in-flight cap of a target (submitting after a POST, submitted, running).',
        labelNames: ['target'],
        registers: [registry],
        async collect() {
          for (const t of deps.targets) this.set({ target: t.name }, await deps.inflight.count(t.name))
        },
      })
      new Gauge({
        name: 'ims_importer_inflight_cap',
        help: 'The in-flight cap configured for a target.',
        labelNames: ['target'],
        registers: [registry],
        collect() {
          for (const t of deps.targets) this.set({ target: t.name }, t.limits.maxInFlight)
        },
      })
      new Gauge({
        name: 'ims_importer_submit_rate_limit_per_second',
        help: "A target's configured submit limit (quick-import POSTs per sliding window), in POSTs per second.",
        labelNames: ['target'],
        registers: [registry],
        collect() {
          for (const t of deps.targets) {
            this.set({ target: t.name }, (t.limits.submitRate * 1000) / t.limits.submitWindowMs)
          }
        },
      })
      new Gauge({
        name: 'ims_importer_queue_jobs',
        help: 'Jobs in each BullMQ queue of this worker, by queue and state.',
        labelNames: ['queue', 'state'],
        registers: [registry],
        async collect() {
          const queues = [
            ...deps.targets.flatMap((t) => [deps.queues.submit(t.name), deps.queues.poll(t.name)]),
            deps.queues.callback(),
          ]
          for (const q of queues) {
            const counts = await q.getJobCounts(...QUEUE_STATES)
            for (const state of QUEUE_STATES) this.set({ queue: q.name, state }, counts[state] ?? 0)
          }
        },
      })
    },
  }
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>
