import { createHmac } from 'node:crypto'
import type { LookupFunction } from 'node:net'
import {
  CallbackJob,
  type CallbackState,
  type HostLookup,
  type ImportRecord,
  isFinal,
  type ResolvedAddress,
  resolveAndCheckCallbackHost,
} from '@ims-importer/core'
import { type Job, UnrecoverableError } from 'bullmq'
import { Agent, request } from 'undici'
import type { WorkerDeps } from '../deps.js'
import { parsePayload } from '../payload.js'

const MAX_REDIRECTS = 3

/** The callback body: what a caller needs to act on the final state, nothing more. */
export function callbackBody(record: ImportRecord): string {
  return JSON.stringify({
    id: record.id,
    status: record.status,
    target: record.target,
    external_id: record.external_id,
    image_id: record.ims.image_id,
    error: record.error,
  })
}

/** `X-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>`. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

/** A lookup that answers only with the addresses the SSRF check approved (no second resolution). */
function pinnedLookup(addresses: ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const first = addresses[0] as ResolvedAddress
    if (options?.all) (callback as (e: null, a: ResolvedAddress[]) => void)(null, addresses)
    else callback(null, first.address, first.family)
  }
}

class CallbackRejected extends Error {}

export interface CallbackProcessorOptions {
  /** DNS resolution for the SSRF check; tests pass their own. */
  lookup?: HostLookup
}

/**
 * Delivers the final state of an import to its callback_url: POST with an HMAC signature,
 * retried by BullMQ with backoff for about an hour (CALLBACK_ATTEMPTS, CALLBACK_RETRY_BASE_MS). The host is checked
 * against the SSRF policy at delivery and on every redirect, and the connection goes to the
 * checked address only. The outcome is counted and kept on the record.
 */
export function processCallback(deps: WorkerDeps, options: CallbackProcessorOptions = {}) {
  async function deliver(startUrl: string, body: string, signature: string): Promise<number> {
    const cfg = deps.config.callback
    let url = startUrl
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const check = await resolveAndCheckCallbackHost(
        url,
        { allowPrivate: cfg.allowPrivate, allowHttpLoopback: cfg.allowHttpLoopback },
        options.lookup,
      )
      if (!check.ok) throw new CallbackRejected(check.reason)
      const dispatcher = new Agent({
        connect: { lookup: pinnedLookup(check.addresses), timeout: cfg.timeoutMs },
      })
      try {
        const res = await request(url, {
          method: 'POST',
          dispatcher,
          headers: {
            'content-type': 'application/json',
            'x-signature': signature,
            'user-agent': 'ims-importer',
          },
          body,
          headersTimeout: cfg.timeoutMs,
          bodyTimeout: cfg.timeoutMs,
        })
        await res.body.dump()
        if (res.statusCode >= 200 && res.statusCode < 300) return res.statusCode
        const location = res.headers.location
        if (res.statusCode >= 300 && res.statusCode < 400 && typeof location === 'string') {
          // Only 307/308 keep the POST and its body; follow those, each one checked again.
          if (res.statusCode !== 307 && res.statusCode !== 308)
            throw new CallbackRejected(
              `callback answered ${res.statusCode}; only 307/308 redirects are followed`,
            )
          url = new URL(location, url).toString()
          continue
        }
        throw new Error(`callback answered HTTP ${res.statusCode}`)
      } finally {
        await dispatcher.close()
      }
    }
    throw new CallbackRejected(`more than ${MAX_REDIRECTS} redirects`)
  }

  return async (job: Job): Promise<string> => {
    const { importId } = parsePayload(CallbackJob, job.data)
    const record = await deps.store.get(importId)
    if (!record) throw new UnrecoverableError(`import ${importId} not found`)
    if (!record.callback_url || !isFinal(record.status)) return 'nothing to deliver'
    if (record.callback?.status === 'delivered') return 'already delivered'
    const log = deps.log.child({ importId })
    const cfg = deps.config.callback
    const attempts = (record.callback?.attempts ?? 0) + 1
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1)

    if (!cfg.secret) {
      await keep(deps, importId, {
        status: 'failed',
        attempts,
        last_error: 'CALLBACK_SECRET is not configured',
        delivered_at: null,
      })
      deps.metrics.callbacks.inc({ outcome: 'rejected' })
      log.error('callback: CALLBACK_SECRET is not configured')
      return 'rejected'
    }
    const body = callbackBody(record)
    const signature = signBody(cfg.secret, body)
    try {
      const status = await deliver(record.callback_url, body, signature)
      await keep(deps, importId, {
        status: 'delivered',
        attempts,
        last_error: null,
        delivered_at: new Date().toISOString(),
      })
      deps.metrics.callbacks.inc({ outcome: 'delivered' })
      log.info({ status, attempts }, 'callback: delivered')
      return 'delivered'
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      if (err instanceof CallbackRejected) {
        await keep(deps, importId, { status: 'failed', attempts, last_error: message, delivered_at: null })
        deps.metrics.callbacks.inc({ outcome: 'rejected' })
        log.warn({ reason: message }, 'callback: rejected by policy')
        return 'rejected'
      }
      await keep(deps, importId, {
        status: lastAttempt ? 'failed' : 'pending',
        attempts,
        last_error: message,
        delivered_at: null,
      })
      deps.metrics.callbacks.inc({ outcome: lastAttempt ? 'failed' : 'retry' })
      log.warn({ attempts, reason: message, lastAttempt }, 'callback: delivery failed')
      throw err
    }
  }
}

/** Keeps the delivery outcome on the (final) record: core allows a callback-only rewrite of a final record. */
async function keep(deps: WorkerDeps, importId: string, callback: CallbackState): Promise<void> {
  await deps.store.update(importId, (current) => ({ to: current.status, patch: { callback } }))
}
