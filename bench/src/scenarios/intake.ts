import { randomUUID } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createQueues, createRedis, drainSubmitOutbox, keys } from '@ims-importer/core'
import { freePort } from '@ims-importer/core/testing'
import { spawnApi, spawnTs, stopAll, type TsProcess, waitForHttp } from '@ims-importer/testkit'
import { quickImportBody } from '../lib/bodies.js'
import { type BenchContext, childEnv } from '../lib/context.js'
import { monotonicUs, summarizeCpuProfiles } from '../lib/cpu-profile.js'
import { hammer, type LoadOptions, type LoadResult } from '../lib/load.js'
import { diffLoad, privateRedis, redisLoad } from '../lib/redis.js'
import { fmt } from '../lib/report.js'
import { type Figure, figure, marginPct, type ScenarioResult } from '../lib/result.js'
import { runIfMain, type Scenario } from '../lib/scenario.js'
import { mean } from '../lib/stats.js'

const SINGLE = { connections: 50, durationS: 10, rounds: 2 }
const BATCH = { connections: 4, durationS: 8, rounds: 2, items: 1000 }
const WARMUP_S = 3

interface Side {
  name: string
  url: string
  headers: Record<string, string>
  idempotencyKeys: boolean
  /** The server process (its CPU time is read around each run). */
  child: TsProcess
}

interface Run extends LoadResult {
  /** Server process CPU per 2xx answer (µs). */
  serverCpuUsPerOk: number
  /** Redis commands (inner script commands included) per 2xx answer. */
  redisCallsPerOk: number
  /** Redis CPU per 2xx answer (µs). */
  redisCpuUsPerOk: number
  /** Load generator (this process) CPU per 2xx answer (µs). */
  loaderCpuUsPerOk: number
}

/** The API process, as in production; ready when this resolves. */
function startApi(ctx: BenchContext, redisUrl: string, apiKey: string, nodeFlags: string[] = []) {
  return spawnApi(
    childEnv(ctx, {
      NODE_ENV: 'production',
      REDIS_URL: redisUrl,
      API_KEYS: `bench:${apiKey}`,
      // The per-key limit would answer 429 long before the machine's limit: set it out of the way.
      RATE_LIMIT_PER_MINUTE: '100000000',
      LOG_LEVEL: 'info',
    }),
    // From its sources under tsx, as every earlier recorded run measured it.
    { nodeFlags, discardStdout: true, from: 'source' },
  )
}

async function measured(
  side: Side,
  load: Omit<LoadOptions, 'url' | 'headers' | 'idempotencyKeys'>,
  redisUrl: string,
): Promise<Run> {
  const cpu0 = side.child.cpuSeconds()
  const redis0 = await redisLoad(redisUrl)
  const loader0 = process.cpuUsage()
  const res = await hammer({
    ...load,
    url: side.url,
    headers: side.headers,
    idempotencyKeys: side.idempotencyKeys,
  })
  const loader = process.cpuUsage(loader0)
  const redis = diffLoad(await redisLoad(redisUrl), redis0)
  const ok = Math.max(1, res.ok)
  return {
    ...res,
    serverCpuUsPerOk: ((side.child.cpuSeconds() - cpu0) * 1e6) / ok,
    redisCallsPerOk: redis.calls / ok,
    redisCpuUsPerOk: (redis.cpuS * 1e6) / ok,
    loaderCpuUsPerOk: (loader.user + loader.system) / ok,
  }
}

/** Runs each side `rounds` times, alternating which goes first. */
async function compare(
  ctx: BenchContext,
  sides: [Side, Side],
  load: Omit<LoadOptions, 'url' | 'headers' | 'idempotencyKeys'>,
  rounds: number,
  redisUrl: string,
): Promise<[Run[], Run[]]> {
  const out: [Run[], Run[]] = [[], []]
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? [0, 1] : [1, 0]
    for (const i of order) {
      const side = sides[i] as Side
      const res = await measured(side, load, redisUrl)
      out[i as 0 | 1].push(res)
      ctx.progress(
        `${side.name} round ${r + 1}: ${res.okPerSec.toFixed(0)} ok/s, p50 ${res.p50Ms} ms, p99 ${res.p99Ms} ms, server CPU ${res.serverCpuUsPerOk.toFixed(0)} µs/ok, loader CPU ${res.loaderCpuUsPerOk.toFixed(0)} µs/ok, Redis ${res.redisCallsPerOk.toFixed(1)} cmds/ok, non-2xx ${res.non2xx}, errors ${res.errors}`,
      )
    }
  }
  return out
}

const avg = (rs: Run[], f: (r: Run) => number) => mean(rs.map(f))

/**
 * The worker's share of an accepted import, which the API no longer does: moving its
 * submit-outbox entry onto the submit queue (core drainSubmitOutbox, as a worker's drainer runs
 * it). Drains what the rounds left in the outbox, in this process, once the load has stopped:
 * CPU of this process and of Redis per import moved.
 */
async function drainCost(
  redisUrl: string,
): Promise<{ moved: number; cpuUsPer: number; redisCpuUsPer: number }> {
  const conn = createRedis(redisUrl)
  const blocking = conn.duplicate()
  const queues = createQueues(conn, keys)
  try {
    const redis0 = await redisLoad(redisUrl)
    const cpu0 = process.cpuUsage()
    let moved = 0
    for (;;) {
      const step = await drainSubmitOutbox(blocking, conn, queues, { count: 500, blockS: 0.01 })
      if (step.moved === 0) break
      moved += step.moved
    }
    const cpu = process.cpuUsage(cpu0)
    const redis = diffLoad(await redisLoad(redisUrl), redis0)
    const n = Math.max(1, moved)
    return { moved, cpuUsPer: (cpu.user + cpu.system) / n, redisCpuUsPer: (redis.cpuS * 1e6) / n }
  } finally {
    await queues.close()
    blocking.disconnect()
    await conn.quit()
  }
}

async function run(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now()
  const redis = await privateRedis()
  const basePort = await freePort()
  const apiKey = `bench-${randomUUID()}`
  const children: TsProcess[] = []
  const notes: string[] = []
  const figures: Figure[] = []
  try {
    const base = spawnTs({
      name: 'baseline',
      entry: join(ctx.root, 'bench/src/baseline/intake-server.ts'),
      cwd: join(ctx.root, 'bench'),
      env: childEnv(ctx, { PORT: String(basePort), REDIS_URL: redis.url }),
    })
    children.push(base)
    const [api] = await Promise.all([
      startApi(ctx, redis.url, apiKey),
      waitForHttp(`http://127.0.0.1:${basePort}/health`, base),
    ])
    children.push(api)
    ctx.progress('api and baseline processes up')

    const apiSide = (path: string): Side => ({
      name: 'api',
      url: `${api.url}${path}`,
      headers: { authorization: `Bearer ${apiKey}` },
      idempotencyKeys: true,
      child: api,
    })
    const baseSide = (path: string): Side => ({
      name: 'baseline',
      url: `http://127.0.0.1:${basePort}${path}`,
      // The same requests as the API gets (its key and a fresh Idempotency-Key each), so the load
      // generator, which shares the machine, does the same work for both sides; the baseline ignores them.
      headers: { authorization: `Bearer ${apiKey}` },
      idempotencyKeys: true,
      child: base,
    })
    const single = JSON.stringify(quickImportBody(1))
    const batch = JSON.stringify({ items: Array.from({ length: BATCH.items }, (_, i) => quickImportBody(i)) })

    const measure = async (
      path: string,
      body: string,
      o: { connections: number; durationS: number; rounds: number },
    ) => {
      const sides: [Side, Side] = [baseSide(path), apiSide(path)]
      for (const side of sides)
        await hammer({
          url: side.url,
          headers: side.headers,
          idempotencyKeys: side.idempotencyKeys,
          body,
          connections: o.connections,
          durationS: WARMUP_S,
        })
      return compare(
        ctx,
        sides,
        { body, connections: o.connections, durationS: o.durationS },
        o.rounds,
        redis.url,
      )
    }

    const [baseRuns, apiRuns] = await measure('/v1/imports', single, SINGLE)
    const drain = await drainCost(redis.url)
    ctx.progress(
      `worker-side drain of the ${drain.moved} accepted imports' outbox entries: ${drain.cpuUsPer.toFixed(1)} µs CPU and ${drain.redisCpuUsPer.toFixed(1)} µs Redis CPU per import`,
    )
    const [baseBatch, apiBatch] = await measure('/v1/batches', batch, BATCH)

    const pairFigures = (what: string, baseName: string, ours: Run[], theirs: Run[], perItem: number) => [
      ...(['p50', 'p99'] as const).map((q) =>
        figure({
          name: `${what} latency ${q}`,
          headline: true,
          unit: 'ms',
          value: avg(ours, (r) => r[`${q}Ms`]),
          baseline: { name: baseName, value: avg(theirs, (r) => r[`${q}Ms`]) },
        }),
      ),
      figure({
        name: `${what} server CPU per ${perItem > 1 ? 'item' : 'request'}`,
        unit: 'µs',
        value: avg(ours, (r) => r.serverCpuUsPerOk) / perItem,
        baseline: { name: baseName, value: avg(theirs, (r) => r.serverCpuUsPerOk) / perItem },
      }),
      figure({
        name: `${what} Redis commands per ${perItem > 1 ? 'item' : 'request'}`,
        unit: 'commands',
        value: avg(ours, (r) => r.redisCallsPerOk) / perItem,
        baseline: { name: baseName, value: avg(theirs, (r) => r.redisCallsPerOk) / perItem },
      }),
      figure({
        name: `${what} Redis CPU per ${perItem > 1 ? 'item' : 'request'}`,
        unit: 'µs',
        value: avg(ours, (r) => r.redisCpuUsPerOk) / perItem,
        baseline: { name: baseName, value: avg(theirs, (r) => r.redisCpuUsPerOk) / perItem },
      }),
    ]

    const SINGLE_BASE = 'bare Fastify + zod + queue.add'
    const BATCH_BASE = 'bare Fastify + zod per item + addBulk'
    const intake = figure({
      name: 'POST /v1/imports throughput',
      unit: 'req/s',
      value: avg(apiRuns, (r) => r.okPerSec),
      baseline: { name: SINGLE_BASE, value: avg(baseRuns, (r) => r.okPerSec) },
      target: { on: 'ratio', op: '>=', value: 0.6 },
    })
    const batches = figure({
      name: `POST /v1/batches (${BATCH.items} items) throughput`,
      unit: 'items/s',
      value: avg(apiBatch, (r) => r.okPerSec) * BATCH.items,
      baseline: { name: BATCH_BASE, value: avg(baseBatch, (r) => r.okPerSec) * BATCH.items },
      target: { on: 'ratio', op: '>=', value: 0.5 },
    })
    figures.push(
      intake,
      ...pairFigures('POST /v1/imports', SINGLE_BASE, apiRuns, baseRuns, 1),
      figure({
        name: 'worker-side CPU per import accepted (submit-outbox drain, addBulk of 500)',
        unit: 'µs',
        value: drain.cpuUsPer,
      }),
      figure({
        name: 'worker-side Redis CPU per import accepted (submit-outbox drain)',
        unit: 'µs',
        value: drain.redisCpuUsPer,
      }),
      batches,
      ...pairFigures('POST /v1/batches', BATCH_BASE, apiBatch, baseBatch, BATCH.items),
    )

    const bad = [...baseRuns, ...apiRuns, ...baseBatch, ...apiBatch].filter(
      (r) => r.non2xx > 0 || r.errors > 0,
    )
    if (bad.length > 0)
      notes.push(
        `non-2xx answers or connection errors occurred: ${bad.map((r) => JSON.stringify(r.statusCodes)).join('; ')} (only 2xx count in the throughput)`,
      )

    // --- where a target is missed (or when asked): a CPU profile of the API under the same load,
    // in an extra run, counting only the samples taken during the load.
    const profileFor: { f: Figure; path: string; body: string; connections: number }[] = []
    if (!intake.pass || ctx.env.BENCH_PROFILE === '1')
      profileFor.push({ f: intake, path: '/v1/imports', body: single, connections: SINGLE.connections })
    if (!batches.pass || ctx.env.BENCH_PROFILE === '1')
      profileFor.push({ f: batches, path: '/v1/batches', body: batch, connections: BATCH.connections })
    if (profileFor.length > 0) {
      await api.stop()
      for (const p of profileFor) {
        const dir = mkdtempSync(join(tmpdir(), 'ims-bench-prof-'))
        const profiled = await startApi(ctx, redis.url, apiKey, ['--cpu-prof', `--cpu-prof-dir=${dir}`])
        children.push(profiled)
        const load = {
          url: `${profiled.url}${p.path}`,
          headers: { authorization: `Bearer ${apiKey}` },
          idempotencyKeys: true,
          body: p.body,
          connections: p.connections,
        }
        await hammer({ ...load, durationS: WARMUP_S })
        const fromUs = monotonicUs()
        await hammer({ ...load, durationS: 8 })
        const toUs = monotonicUs()
        await profiled.stop()
        const prof = summarizeCpuProfiles(dir, ctx.root, 10, { fromUs, toUs })
        const pct = (h: { where: string; selfPct: number }) => `${h.where} ${h.selfPct}%`
        notes.push(
          `${p.path}: ratio ${fmt(p.f.ratio)} against target ${p.f.target?.op} ${p.f.target?.value} (missed by ${fmt(-(marginPct(p.f) ?? 0))}% of the target). CPU profile of the API under the same load (--cpu-prof, samples during the load only, ${dir}): self time by package: ${prof.packages.map(pct).join(', ')}. Busy ${prof.busyPct}% of the samples; of the busy time, inclusive: ${prof.inclusive.map(pct).join('; ')}.`,
        )
        ctx.progress(`profiled ${p.path}: ${prof.packages.map(pct).join(', ')}`)
      }
    }

    notes.push(
      `Both servers run as their own Node process on the same private redis-server; autocannon runs in the bench process (${SINGLE.connections} connections for single imports, ${BATCH.connections} for batches), rounds alternate which side goes first, figures are the mean of ${SINGLE.rounds} rounds of ${SINGLE.durationS} s (batches ${BATCH.rounds} x ${BATCH.durationS} s) after a ${WARMUP_S} s warm-up. Server CPU = the server process's user+sys time during the round (/proc) per 2xx answer; Redis figures from INFO commandstats / INFO cpu around the round.`,
      'The API runs as in production (NODE_ENV=production, LOG_LEVEL=info to /dev/null): bearer-key auth, the per-key rate limiter in Redis (limit set out of the way), a fresh Idempotency-Key on every request, the import record and its indexes with its submit-outbox entry in the same script (no worker runs here: the drainer of a worker adds the submit jobs from the outbox, in bulk, outside the request, measured below; docs/intake-admission.md), Prometheus metrics, a full Import view as the answer. The baseline validates the same zod schema (ImportRequestBody) and does one queue.add with the body in the job data (addBulk for a batch), answering id. Both sides get the same requests (the API key and a fresh Idempotency-Key each, which the baseline ignores), so the load generator, which shares the 2 cores, does the same work for both; loader CPU per request is printed with each round.',
    )
    return {
      id: 'intake',
      title: '1. Intake: POST /v1/imports and POST /v1/batches against a bare Fastify + queue.add',
      durationS: (Date.now() - started) / 1000,
      figures,
      tables: [],
      params: {
        single: SINGLE,
        batch: BATCH,
        warmupS: WARMUP_S,
        bodyBytes: single.length,
        batchBodyBytes: batch.length,
        loadAverage1mAtStart: loadavg()[0],
      },
      notes,
    }
  } finally {
    await stopAll(children)
    await redis.stop()
  }
}

export const intakeScenario: Scenario = { id: 'intake', title: 'Intake', run }

await runIfMain(import.meta, intakeScenario)
