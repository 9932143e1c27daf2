import { startPassThrough } from '@ims-importer/core/testing'
import { describe, expect, it } from 'vitest'
import { PREFLIGHT_HOLD_MS } from '../src/processors/submit-decision.js'
import { workerTestFile } from './helpers/fixtures.js'
import { waitAllFinal, waitUntil } from './helpers/harness.js'

// The pre-flight beside the quota look, a single try for a place and the quota reservation
// (docs/preflight.md, "When it runs"): what a run took while OBS answered is given back when the
// check fails or OBS is slow, and a file that fails never waits for a place.

const f = workerTestFile('preflight-overlap')

const body = (i: number, imageUrl: string) => ({
  name: `pfo-${i}`,
  image_url: imageUrl,
  os_version: 'CentOS 7.0 64bit',
  min_disk: 40,
  type: 'ECS',
})

/** A pass-through in front of the simulator's OBS that holds each HEAD `delayMs` before passing it on. */
async function slowHeadProxy(upstream: string, delayMs: number) {
  const state = { held: 0, passed: 0 }
  const proxy = await startPassThrough(upstream, (req, _res, forward) => {
    const pass = () => {
      state.passed++
      forward()
    }
    if (req.method !== 'HEAD') return pass()
    state.held++
    setTimeout(() => {
      state.held--
      pass()
    }, delayMs)
  })
  return f.closeLater({ url: proxy.url, state }, () => proxy.close())
}

describe('pre-flight beside the place and the reservation', () => {
  it('a failed check gives back its place and reservation, takes no gate slot and never waits for a full cap', async () => {
    // Two places, one held for seconds by a good import: a bad file may take the other one (and
    // reserve quota) while OBS answers; the rest find the cap full.
    const t = await f.simTarget('pfo-cap', {
      obs: {},
      files: ['images:disks/long.zvhd2'],
      maxInFlight: 2,
      sim: { jobDurationMs: { min: 6_000, max: 6_000 } },
    })
    await f.runtime([t.target])
    const intake = f.intake()
    const redis = f.redis()
    const holder = await intake.create(t.target.name, body(0, 'images:disks/long.zvhd2'))
    await waitUntil(
      'the good import submitted',
      async () => {
        const status = (await intake.records([holder]))[0]?.status
        return status === 'running' || status === 'submitted'
      },
      10_000,
    )
    const started = Date.now()
    const bad = await Promise.all(
      [1, 2, 3, 4].map((i) => intake.create(t.target.name, body(i, `images:disks/missing-${i}.zvhd2`))),
    )
    const failed = await waitAllFinal(intake, bad, 5_000)
    const tookMs = Date.now() - started
    for (const r of failed) {
      expect(r.status).toBe('failed')
      expect(r.error).toMatchObject({ source: 'preflight', code: 'preflight_object_missing' })
      expect(r.attempts.submit).toBe(0)
      expect(t.sim.control.counters().createsByMarker[r.id] ?? 0).toBe(0)
    }
    // Failed while the holder still ran: none waited in line for a place.
    expect((await intake.records([holder]))[0]?.status).not.toBe('succeeded')
    expect(tookMs).toBeLessThan(5_000)
    // The only place held is the holder's; no reservation and no gate slot of a failed import.
    // (Its place goes in the final write; its reservation right after it, not in the same instant.)
    const keys = f.ns
    await waitUntil(
      'the failed imports’ places and reservations given back',
      async () => {
        const held = await redis.zrange(keys.inflight(t.target.name), 0, -1)
        const reserved = await Promise.all(
          bad.map((id) => redis.zscore(keys.imageQuotaPending(t.target.name), id)),
        )
        return held.length === 1 && held[0] === holder && reserved.every((r) => r === null)
      },
      2_000,
      10,
    )
    expect(await redis.zrange(keys.inflight(t.target.name), 0, -1)).toEqual([holder])
    for (const id of bad) expect(await redis.zscore(keys.imageQuotaPending(t.target.name), id)).toBeNull()
    expect(await redis.zcard(keys.submitWindow(t.target.name))).toBeLessThanOrEqual(1)
    const [done] = await waitAllFinal(intake, [holder], 20_000)
    expect(done?.status).toBe('succeeded')
    expect(done?.file?.size_bytes).toBeGreaterThan(0)
  })

  it('OBS slower than PREFLIGHT_HOLD_MS: the place is given back while it answers, then the import goes on', async () => {
    const t = await f.simTarget('pfo-slow', { obs: {}, files: ['images:disks/ok.zvhd2'], maxInFlight: 1 })
    const proxy = await slowHeadProxy(t.sim.url, PREFLIGHT_HOLD_MS + 3_000)
    const target = { ...t.target, obs: { ...t.target.obs, endpoint: proxy.url } as typeof t.target.obs }
    await f.runtime([target])
    const intake = f.intake()
    const redis = f.redis()
    const id = await intake.create(target.name, body(10, 'images:disks/ok.zvhd2'))
    await waitUntil('the HEAD held by the proxy', async () => proxy.state.held > 0, 10_000, 5)
    // While OBS holds its answer: the place is taken (the single try beside the check), then given back.
    let sawHeld = false
    let givenBack = false
    await waitUntil(
      'the place given back while OBS answers',
      async () => {
        const holds = (await redis.zscore(f.ns.inflight(target.name), id)) !== null
        sawHeld ||= holds
        givenBack = sawHeld && !holds && proxy.state.held > 0
        return givenBack
      },
      PREFLIGHT_HOLD_MS + 2_500,
      10,
    )
    expect(givenBack).toBe(true)
    expect((await intake.records([id]))[0]?.status).toBe('queued')
    const [r] = await waitAllFinal(intake, [id], 20_000)
    expect(r?.status).toBe('succeeded')
    expect(r?.file?.size_bytes).toBeGreaterThan(0)
    expect(t.sim.control.counters().createsByMarker[id]).toBe(1)
    // The place went in the write that made it final (core transition-import.lua).
    expect(await redis.zscore(f.ns.inflight(target.name), id)).toBeNull()
  })
})
