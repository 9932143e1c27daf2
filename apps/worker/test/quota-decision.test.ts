import { TargetConfig } from '@ims-importer/core'
import { describe, expect, it } from 'vitest'
import { defaultWorkerConfig } from '../src/config.js'
import { decideSubmit, QUOTA_WAIT_MIN_MS, type SubmitFacts } from '../src/processors/submit-decision.js'
import { type QuotaPause, resolveQuotaPolicy, waitingFor } from '../src/quota-pause.js'
import { queuedRecord as record, submitFacts, T0, TARGET as target } from './helpers/submit-facts.js'

// The image quota's part of the submit decision, and its policy: no Redis, no IMS.

const settings = defaultWorkerConfig({ redisUrl: 'redis://unused', targets: [] }).submit
const pause: QuotaPause = { code: null, message: 'no free quota', since: T0, retryInMs: 2_000 }
const facts = (over: Partial<SubmitFacts> = {}) => submitFacts(settings, { quota: { pause: null }, ...over })
const waiting = {
  reason: 'image_quota',
  code: null,
  message: 'no free quota',
  since: new Date(T0).toISOString(),
}

describe('decideSubmit with the image quota', () => {
  it('takes a place, then reserves quota, then marks', () => {
    expect(decideSubmit(facts(), { kind: 'start' }).kind).toBe('take-place')
    expect(decideSubmit(facts(), { kind: 'place', outcome: 'taken' })).toEqual({ kind: 'reserve-quota' })
    expect(decideSubmit(facts(), { kind: 'quota', outcome: 'reserved' })).toEqual({
      kind: 'mark',
      attempt: 1,
    })
  })

  it('waits for quota, without a place, a gate slot or a POST, while the target is paused', () => {
    expect(decideSubmit(facts({ quota: { pause } }), { kind: 'start' })).toEqual({
      kind: 'quota-wait',
      waiting,
      ms: 2_100,
      refundAttempt: false,
    })
    // Also an import that held a place after an uncertain POST: it looks for its image first,
    // and waits only once none was found.
    const holder = facts({ quota: { pause }, record: record({ status: 'submitting' }) })
    expect(decideSubmit(holder, { kind: 'start' }).kind).toBe('lookup')
    const settled = facts({
      quota: { pause },
      record: record({ status: 'submitting', attempts: { submit: 1, poll: 0 } }),
      state: { lastPost: { attempt: 1, at: T0 - 600_000 } },
    })
    expect(decideSubmit(settled, { kind: 'lookup', image: null }).kind).toBe('quota-wait')
  })

  it('waits when the reservation finds none free, and after IMG.0015 without counting the attempt', () => {
    expect(decideSubmit(facts(), { kind: 'quota', outcome: 'exhausted', pause })).toMatchObject({
      kind: 'quota-wait',
      refundAttempt: false,
    })
    const refused = { ...pause, code: 'IMG.0015', message: 'IMS refused' }
    expect(decideSubmit(facts(), { kind: 'quota-refused', pause: refused })).toEqual({
      kind: 'quota-wait',
      waiting: { ...waiting, code: 'IMG.0015', message: 'IMS refused' },
      ms: 2_100,
      refundAttempt: true,
    })
  })

  it('comes back a little after the next read may run, never at once', () => {
    const now = facts({ quota: { pause: { ...pause, retryInMs: 0 } }, random: () => 0 })
    expect(decideSubmit(now, { kind: 'start' })).toMatchObject({ ms: QUOTA_WAIT_MIN_MS })
    const late = facts({ quota: { pause }, random: () => 0.999 })
    expect(decideSubmit(late, { kind: 'start' })).toMatchObject({ ms: 2_200 })
  })

  it('checks the deadline before the quota: a pause does not keep an import past it', () => {
    const old = facts({ quota: { pause }, now: T0 + target.deadlineMs + 1 })
    expect(decideSubmit(old, { kind: 'start' })).toMatchObject({ kind: 'fail', reason: 'deadline_exceeded' })
  })

  it('without quota facts, marks right after the place (no reservation step)', () => {
    const { quota: _none, ...without } = facts()
    expect(decideSubmit(without, { kind: 'place', outcome: 'taken' })).toEqual({ kind: 'mark', attempt: 1 })
  })
})

describe('resolveQuotaPolicy', () => {
  const base = {
    name: 't',
    imsEndpoint: 'https://ims.example',
    iamEndpoint: 'https://iam.example/v3',
    projectId: 'p',
    auth: { type: 'aksk', ak: 'a', sk: 's' },
  }

  it('reads every two first-poll delays by default, and counts an image itself that long', () => {
    expect(resolveQuotaPolicy(TargetConfig.parse(base))).toEqual({ refreshMs: 60_000, countLagMs: 60_000 })
    // The simulator of `pnpm start` polls first after 1 s: the quota on the same clock.
    const sim = TargetConfig.parse({ ...base, poll: { initialDelayMs: 1000 } })
    expect(resolveQuotaPolicy(sim)).toEqual({ refreshMs: 2_000, countLagMs: 2_000 })
  })

  it('takes the target file fields when given', () => {
    const t = TargetConfig.parse({ ...base, quota: { refreshMs: 5_000, countLagMs: 0 } })
    expect(resolveQuotaPolicy(t)).toEqual({ refreshMs: 5_000, countLagMs: 0 })
    expect(TargetConfig.safeParse({ ...base, quota: { refreshMs: 0 } }).success).toBe(false)
  })

  it('gives the record field of a pause', () => {
    expect(waitingFor(pause)).toEqual(waiting)
  })
})
