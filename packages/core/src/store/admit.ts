import { hash } from 'node:crypto'
import type { ImportRecord, NewImport } from '../import-record.js'
import { keys as defaultKeys, type Keys } from '../keys.js'
import { type Redis, runScript } from '../redis.js'
import { outboxEntry } from '../submit-outbox.js'
import { newImportArgs, newImportRecords } from './create.js'
import { OPEN_STATUSES } from './retention.js'
import { scripts } from './scripts.js'
import { parseRecord } from './serialise.js'

/** Idempotency records are kept this long after the first answer (the contract says at least 24 h). */
export const IDEMPOTENCY_TTL_MS = 25 * 3600_000

/** `perMinute` requests per minute per API key, with bursts of up to `perMinute` at once (GCRA). */
export interface RateLimit {
  /** The caller's key id (not secret). */
  keyId: string
  perMinute: number
}

export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfterMs: number }

/** A request's Idempotency-Key, scoped to its tenant, and what makes two requests "the same". */
export interface IdempotencyClaim {
  tenant: string
  /** The caller's key as sent; it is hashed into the Redis key (any characters, bounded length). */
  key: string
  /** Hash of the route and the canonical body. */
  bodyHash: string
}

/**
 * What a key keeps to answer a replay: the answer itself (any JSON), or, for a single import,
 * the import's id: its answer is rebuilt from the record, so it is not stored twice.
 */
export type StoredAnswer = { importId: string } | { response: unknown }

/** One intake request to admit: the records it makes, with the caller's limit and key. */
export interface AdmitRequest {
  rateLimit: RateLimit
  /** The Idempotency-Key and the answer stored under it when the records are created. */
  idempotency: (IdempotencyClaim & { answer: StoredAnswer }) | null
  imports: NewImport[]
  /**
   * The most imports not yet final the tenant of `imports` may have once they are written
   * (counted in the same step); null or absent: no cap.
   */
  maxOpenImports?: number | null
  now?: Date
  /**
   * Write the records' submit-outbox entries with them (default): they are queued once created.
   * False: the caller pushes them itself (outboxEntry) once the rest of its request is written.
   */
  queue?: boolean
}

/**
 * What admission decided; nothing was written unless `created`. `created` records are queued:
 * their submit-outbox entries were written with them, and a worker adds their submit jobs.
 */
export type AdmitResult =
  | { kind: 'created'; records: ImportRecord[] }
  | { kind: 'limited'; retryAfterMs: number }
  /** The key was used with this body before: its stored answer, or the import it made. */
  | { kind: 'replay'; answer: { response: unknown } | { import: ImportRecord } }
  /** The key was used with another body. */
  | { kind: 'mismatch' }
  /** The key's first request is still being handled (or being undone). */
  | { kind: 'in_progress' }
  /** A record id is taken (ids are random: a caller's bug, not a race). */
  | { kind: 'exists'; importId: string }
  /** The records would take the tenant past its cap of imports not yet final: `open` now, `cap`. */
  | { kind: 'over_quota'; open: number; cap: number }

/**
 * Intake admission: the rate limit, the Idempotency-Key and the records in one script and one
 * round trip (admit-imports.lua; why: docs/intake-admission.md).
 */
export interface Admission {
  keys: Keys
  admit(request: AdmitRequest): Promise<AdmitResult>
  /** Takes one request of a rate limit, writing nothing else (routes without records, refused bodies). */
  takeRateLimit(limit: RateLimit): Promise<RateLimitDecision>
  /** Drops a key's stored answer after its request failed without accepting anything, so a retry runs. */
  forget(claim: IdempotencyClaim): Promise<void>
}

/** GCRA's arguments: the interval between requests (ms) and the burst (requests). */
const gcraArgs = (limit: RateLimit): [number, number] => [60_000 / limit.perMinute, limit.perMinute]

export function createAdmission(redis: Redis, options: { keys?: Keys } = {}): Admission {
  const keys = options.keys ?? defaultKeys
  const claimKey = (claim: IdempotencyClaim): string =>
    keys.idempotency(claim.tenant, hash('sha256', claim.key))
  // The record key of an id is this prefix and the id (admit-imports.lua reads a replayed import).
  const importKeyPrefix = keys.import('')

  return {
    keys,

    async admit({ rateLimit, idempotency, imports, maxOpenImports, now = new Date(), queue = true }) {
      const records = newImportRecords(imports, now)
      const keyList = [keys.apiRate(rateLimit.keyId)]
      let answerField = ''
      let answerValue = ''
      if (idempotency) {
        keyList.push(claimKey(idempotency))
        const { answer } = idempotency
        if ('importId' in answer) {
          answerField = 'import'
          answerValue = answer.importId
        } else {
          answerField = 'response'
          answerValue = JSON.stringify(answer.response)
        }
      }
      const args = [
        ...gcraArgs(rateLimit),
        idempotency?.bodyHash ?? '',
        answerField,
        answerValue,
        IDEMPOTENCY_TTL_MS,
        importKeyPrefix,
      ]
      const tenant = imports[0]?.tenant
      if (maxOpenImports && tenant !== undefined) {
        if (imports.some((i) => i.tenant !== tenant))
          throw new Error('admit: a capped request holds the imports of one tenant')
        args.push(maxOpenImports, keyList.length + 1, OPEN_STATUSES.length)
        for (const status of OPEN_STATUSES) keyList.push(keys.tenantStatusImports(tenant, status))
      } else args.push(0, 0, 0)
      const recordArgs = newImportArgs(keys, imports, records, keyList)
      keyList.push(keys.submitOutbox)
      const entries = queue ? records.map((r) => outboxEntry(r.target, r.id)) : []
      const reply = (await runScript(redis, scripts.admit, keyList, [
        ...args,
        ...recordArgs,
        ...entries,
      ])) as string[]
      const [kind, detail = '', more = ''] = reply
      switch (kind) {
        case 'created':
          return { kind, records }
        case 'limited':
          return { kind, retryAfterMs: Number(detail) }
        case 'replay':
          return { kind, answer: { response: JSON.parse(detail) as unknown } }
        case 'replay_import':
          return { kind: 'replay', answer: { import: parseRecord(detail, more) } }
        case 'mismatch':
        case 'in_progress':
          return { kind }
        case 'exists':
          return { kind, importId: detail }
        case 'over_quota':
          return { kind, open: Number(detail), cap: Number(more) }
        default:
          throw new Error(`admit-imports: unexpected reply ${String(kind)}`)
      }
    },

    async takeRateLimit(limit) {
      const wait = Number(
        await runScript(redis, scripts.rateLimitTake, [keys.apiRate(limit.keyId)], gcraArgs(limit)),
      )
      return wait > 0 ? { allowed: false, retryAfterMs: wait } : { allowed: true }
    },

    async forget(claim) {
      await runScript(redis, scripts.idempotencyForget, [claimKey(claim)], [claim.bodyHash])
    },
  }
}
