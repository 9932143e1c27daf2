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

/**
 * The callback body: what a caller needs to act on the final state, nothing more, and whose it
 * is (`tenant`: a receiver shared by tenants, or one pointed at by another tenant, can tell).
 */
export function callbackBody(record: ImportRecord): string {
  return JSON.stringify({
    id: record.id,
    tenant: record.tenant,
    status: record.status,
    target: record.target,
    external_id: record.external_id,
    image_id: record.ims.image_id,
    error: record.error,
  })
}

/** The Standard Webhooks message id of an import's callback: one final state, one message (retries keep it). */
export const webhookId = (importId: string): string => `msg_${importId}`

/**
 * Standard Webhooks headers (https://www.standardwebhooks.com): `webhook-signature` is
 * `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per secret, space-separated: while a
 * tenant rotates (two secrets) a receiver with either verifies. `timestamp` in seconds.
 */
export function webhookHeaders(
  secrets: readonly Buffer[],
  id: string,
  timestamp: number,
  body: string,
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const signed = `${id}.${timestamp}.${body}`
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets
      .map((key) => `v1,${createHmac('sha256', key).update(signed).digest('base64')}`)
      .join(' '),
  }
}

/** Node's and undici's network error codes, in words a tenant can act on (no address in them). */
function deliveryError(err: unknown, timeoutMs: number): string {
  const code = String((err as { code?: unknown }).code ?? '')
  if (err instanceof HttpAnswer) return `the callback URL answered HTTP ${err.status}`
  if (code === 'ECONNREFUSED') return 'the callback URL refused the connection'
  if (/TIMEOUT|ETIMEDOUT/.test(code))
    return `the callback URL did not answer within ${Math.round(timeoutMs / 1000)} s`
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE')
    return 'the connection to the callback URL closed before an answer'
  if (/CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code))
    return "the callback URL's TLS certificate was not accepted"
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'the callback URL is not reachable'
  return 'the callback could not be delivered (network error)'
}

/** A policy refusal (SSRF guard, redirects) in a tenant's words: which rule, never an address. */
function rejectionText(reason: string, hop: number): string {
  const where = hop > 0 ? `after ${hop} redirect(s), ` : ''
  const resolves = /resolves to an? ([a-z-]+) address/.exec(reason)
  if (resolves) return `${where}the callback URL resolves to a ${resolves[1]} address, which is not allowed`
  if (/cannot be resolved|resolves to no address/.test(reason))
    return `${where}the callback URL's host name cannot be resolved`
  return `${where}${reason}`
}

/** A lookup that answers only with the addresses the SSRF check approved (no second resolution). */
function pinnedLookup(addresses: ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const first = addresses[0] as ResolvedAddress
    if (options?.all) (callback as (e: null, a: ResolvedAddress[]) => void)(null, addresses)
    else callback(null, first.address, first.family)
  }
}

class CallbackRejected extends Error {
  /** What the tenant reads in callback.last_error (the message itself is logged). */
  constructor(
    message: string,
    readonly forTenant: string,
  ) {
    super(message)
  }
}

/** A non-2xx answer of the callback URL. */
class HttpAnswer extends Error {
  constructor(readonly status: number) {
    super(`callback answered HTTP ${status}`)
  }
}

export interface CallbackProcessorOptions {
  /** DNS resolution for the SSRF check; tests pass their own. */
  lookup?: HostLookup
}

/**
 * Delivers the final state of an import to its callback_url: POST signed per Standard Webhooks
 * with its tenant's secret(s),
 * retried by BullMQ with backoff for about an hour (CALLBACK_ATTEMPTS, CALLBACK_RETRY_BASE_MS). The host is checked
 * against the SSRF policy at delivery and on every redirect, and the connection goes to the
 * checked address only. The outcome is counted and kept on the record.
 */
export function processCallback(deps: WorkerDeps, options: CallbackProcessorOptions = {}) {
  async function deliver(startUrl: string, body: string, headers: Record<string, string>): Promise<number> {
    const cfg = deps.config.callback
    let url = startUrl
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const check = await resolveAndCheckCallbackHost(
        url,
        { allowPrivate: cfg.allowPrivate, allowHttpLoopback: cfg.allowHttpLoopback },
        options.lookup,
      )
      if (!check.ok) throw new CallbackRejected(check.reason, rejectionText(check.reason, hop))
      const dispatcher = new Agent({
        connect: { lookup: pinnedLookup(check.addresses), timeout: cfg.timeoutMs },
      })
      try {
        const res = await request(url, {
          method: 'POST',
          dispatcher,
          headers: {
            'content-type': 'application/json',
            ...headers,
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
          if (res.statusCode !== 307 && res.statusCode !== 308) {
            const text = `callback answered ${res.statusCode}; only 307/308 redirects are followed`
            throw new CallbackRejected(text, `the callback URL ${text.slice('callback '.length)}`)
          }
          url = new URL(location, url).toString()
          continue
        }
        throw new HttpAnswer(res.statusCode)
      } finally {
        await dispatcher.close()
      }
    }
    throw new CallbackRejected(
      `more than ${MAX_REDIRECTS} redirects`,
      `the callback URL redirected more than ${MAX_REDIRECTS} times`,
    )
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

    // The tenant's own secrets (TENANTS_FILE): a callback is never signed with another's.
    const secrets = deps.tenants.current?.get(record.tenant)?.callbackSecrets ?? []
    if (secrets.length === 0) {
      await keep(deps, importId, {
        status: 'failed',
        attempts,
        last_error:
          'no callback secret is configured for this tenant, so callbacks cannot be signed; ask the operator to set one',
        delivered_at: null,
      })
      deps.metrics.callbacks.inc({ outcome: 'rejected' })
      log.error({ tenant: record.tenant }, 'callback: the tenant has no callback secret')
      return 'rejected'
    }
    const body = callbackBody(record)
    // Signed at each attempt: a receiver's replay window (Standard Webhooks: 5 min) counts from the send.
    const headers = webhookHeaders(secrets, webhookId(importId), Math.floor(Date.now() / 1000), body)
    try {
      const status = await deliver(record.callback_url, body, headers)
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
        await keep(deps, importId, {
          status: 'failed',
          attempts,
          last_error: err.forTenant,
          delivered_at: null,
        })
        deps.metrics.callbacks.inc({ outcome: 'rejected' })
        log.warn({ reason: message }, 'callback: rejected by policy')
        return 'rejected'
      }
      await keep(deps, importId, {
        status: lastAttempt ? 'failed' : 'pending',
        attempts,
        // The log keeps the network's own message (it may name an address); the tenant reads this.
        last_error: deliveryError(err, cfg.timeoutMs),
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
