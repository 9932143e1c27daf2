#!/usr/bin/env tsx
/**
 * `pnpm check:detection` (with `pnpm start` running): a black-box look, from outside, at how long
 * a finished IMS job keeps its in-flight place. Submits N imports through the API, waits for each
 * to reach a final state, then asks the simulator (as an IMS client: token + job GET) for each
 * job's begin_time and end_time and prints, per import and in sum: final time (the record's
 * finished_at) minus the job's end_time, that as a share of the job's duration, polls per import
 * (attempts.poll) and the share of place-time held after IMS had finished. Prints figures; asserts
 * nothing. Safe to run while the stack is restarted: the waiting loop rides out an API that is
 * down for a while. Submits through POST /v1/batches and reads the batch's records 500 a page,
 * so the API's per-key rate limit (600 requests a minute by default) is not hit.
 *
 *   pnpm check:detection [--count 120] [--timeout 900] [--quiet]
 *
 * IMS_IMPORTER_URL, IMS_IMPORTER_API_KEY, IMS_SIMULATOR_URL and SIM_USER_NAME / SIM_USER_PASSWORD /
 * SIM_USER_DOMAIN / SIM_PROJECT_ID override the `pnpm start` defaults.
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { createApiClient, type ImportView, isFinalStatus } from '@ims-importer/api-client'

const env = process.env
const { values: args } = parseArgs({
  options: {
    count: { type: 'string', default: '120' },
    timeout: { type: 'string', default: '900' },
    quiet: { type: 'boolean', default: false },
  },
})
const COUNT = Number(args.count)
const TIMEOUT_MS = Number(args.timeout) * 1000
const API_URL = env.IMS_IMPORTER_URL ?? 'http://127.0.0.1:8080'
const API_KEY = env.IMS_IMPORTER_API_KEY ?? 'dev-key'
const SIM_URL = (env.IMS_SIMULATOR_URL ?? 'http://127.0.0.1:4600').replace(/\/+$/, '')
const SIM_PROJECT = env.SIM_PROJECT_ID ?? 'sim-project'
const SIM_USER = {
  name: env.SIM_USER_NAME ?? 'sim-user',
  password: env.SIM_USER_PASSWORD ?? 'sim-password',
  domain: env.SIM_USER_DOMAIN ?? 'sim-domain',
}
if (!Number.isInteger(COUNT) || COUNT < 1) throw new Error('--count must be a positive integer')

const client = createApiClient({ baseUrl: API_URL, apiKey: API_KEY, retry: { retries: 1 } })
const runId = randomBytes(4).toString('hex')
const started = Date.now()
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const GIB = 2 ** 30
/** System disks of up to this many GB: min_disk of every body. */
const MIN_DISK = 100

/**
 * The image files the bodies name: the ZVHD2 files of the simulator's `migration-bucket` that fit
 * in MIN_DISK (the dev stack seeds ten under wave-3/, scripts/dev-obs-seed.json), so the
 * pre-flight and the simulator's IMS find each one; file i of the run is file i mod their count.
 * A simulator whose OBS holds none gets keys unique to the run, as before (its jobs must then
 * not judge files: SIM_OBS_JUDGING off, and no pre-flight on the target).
 */
async function imageFiles(): Promise<string[]> {
  const res = await fetch(`${SIM_URL}/__sim/obs`)
  if (!res.ok) throw new Error(`the simulator's GET /__sim/obs answered ${res.status}`)
  const { buckets } = (await res.json()) as {
    buckets: {
      name: string
      storageClass: string
      objects: { key: string; size: number; storageClass: string }[]
    }[]
  }
  return (buckets.find((b) => b.name === 'migration-bucket')?.objects ?? [])
    .filter((o) => o.key.endsWith('.zvhd2') && o.size <= MIN_DISK * GIB && o.storageClass === 'STANDARD')
    .map((o) => `migration-bucket:${o.key}`)
    .sort()
}

/** A realistic system-disk body (as bench/src/lib/bodies.ts builds them), unique to this run. */
function body(i: number, files: string[]): Record<string, unknown> {
  const n = String(i).padStart(4, '0')
  return {
    name: `detect-${runId}-${n}`,
    description: 'detection-check import',
    image_url:
      files.length > 0 ? files[i % files.length] : `migration-bucket:detect-${runId}/vm-${n}/disk-0.zvhd2`,
    os_version: 'Ubuntu 18.04 server 64bit',
    min_disk: MIN_DISK,
    type: 'ECS',
    image_tags: [{ key: 'check', value: 'detection' }],
  }
}

/** Runs `fn` over `items`, at most `limit` at once. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const lane = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
  return out
}

interface ImsJob {
  status: string
  begin_time: string
  end_time: string | null
}

async function simToken(): Promise<string> {
  const res = await fetch(`${SIM_URL}/v3/auth/tokens?nocatalog=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json;charset=utf8' },
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: {
            user: { name: SIM_USER.name, password: SIM_USER.password, domain: { name: SIM_USER.domain } },
          },
        },
        scope: { project: { id: SIM_PROJECT } },
      },
    }),
  })
  const token = res.headers.get('x-subject-token')
  if (res.status !== 201 || !token) throw new Error(`the simulator's IAM answered ${res.status}`)
  return token
}

/** The IMS job as a client sees it; null when IMS answers 404 (a job it does not know). */
async function imsJob(token: string, jobId: string): Promise<ImsJob | null> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${SIM_URL}/v1/${SIM_PROJECT}/jobs/${jobId}`, {
      headers: { 'x-auth-token': token },
    })
    if (res.status === 404) return null
    if (res.ok) return (await res.json()) as ImsJob
    if (attempt >= 5) throw new Error(`job ${jobId}: IMS answered ${res.status}`)
    await sleep(500 * (attempt + 1))
  }
}

const ms = (iso: string | null | undefined) => (iso ? Date.parse(iso) : Number.NaN)
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN)
/** Nearest-rank quantile. */
const quantile = (xs: number[], q: number) => {
  if (!xs.length) return Number.NaN
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number
}
const pct = (x: number) => `${(x * 100).toFixed(1)}%`
const fixed = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '-')

async function main(): Promise<void> {
  console.log(`detection-check ${runId}: ${COUNT} imports to ${API_URL}, IMS jobs read from ${SIM_URL}`)
  const files = await imageFiles()
  console.log(
    files.length > 0
      ? `image files: ${files.length} from the simulator's OBS (migration-bucket), each named by ${Math.ceil(COUNT / files.length)} imports or fewer`
      : "image files: none in the simulator's OBS (migration-bucket); keys unique to the run (they pass only with OBS judging and pre-flight off)",
  )
  // One batch per 1000 (the batch endpoint's cap): the API's per-key rate limit (600/min by
  // default) would refuse single POSTs and per-import GETs at this count.
  const batches: { id: string; accepted: number }[] = []
  for (let from = 0; from < COUNT; from += 1000) {
    const items = Array.from({ length: Math.min(1000, COUNT - from) }, (_, k) => body(from + k, files))
    const { value } = await client.createBatch(
      { items },
      { idempotencyKey: `detection-check-${runId}-${from}` },
    )
    if (value.rejected > 0)
      throw new Error(`the API refused ${value.rejected} items: ${JSON.stringify(value.errors[0])}`)
    batches.push({ id: value.id, accepted: value.accepted })
  }
  console.log(
    `[${elapsed()}] ${COUNT} accepted in ${batches.length} batch(es); waiting for each to reach a final state`,
  )

  // Final or not is read from the records themselves (the batch's imports, 500 a page), not
  // from the batch view's counts: the check must not trust what it is checking.
  const listAll = async (): Promise<ImportView[]> => {
    const out: ImportView[] = []
    for (const b of batches) {
      let cursor: string | undefined
      do {
        const page = await client.listImports({ batch_id: b.id, limit: 500, ...(cursor ? { cursor } : {}) })
        out.push(...page.items)
        cursor = page.next_cursor ?? undefined
      } while (cursor)
    }
    return out
  }
  let views: ImportView[] = []
  let unreachableSince: number | null = null
  let lastReport = ''
  while (Date.now() - started < TIMEOUT_MS) {
    try {
      views = await listAll()
      if (unreachableSince !== null) {
        console.log(
          `[${elapsed()}] the API answers again (after ${((Date.now() - unreachableSince) / 1000).toFixed(1)} s)`,
        )
        unreachableSince = null
      }
      const counts: Record<string, number> = {}
      for (const v of views) counts[v.status] = (counts[v.status] ?? 0) + 1
      const report = JSON.stringify(counts)
      if (report !== lastReport) console.log(`[${elapsed()}] ${report}`)
      lastReport = report
      if (views.length >= COUNT && views.every((v) => isFinalStatus(v.status))) break
    } catch (err) {
      if (unreachableSince === null) {
        unreachableSince = Date.now()
        console.log(`[${elapsed()}] the API does not answer (${(err as Error).message}); still waiting`)
      }
    }
    await sleep(1000)
  }
  const waitedMs = Date.now() - started

  const finals = new Map(views.filter((v) => isFinalStatus(v.status)).map((v) => [v.id, v]))
  const open = views.filter((v) => !isFinalStatus(v.status))
  if (open.length > 0) {
    const openIds = open.slice(0, 5).map((v) => `${v.id} (${v.status}, IMS job ${v.ims?.job_id ?? '-'})`)
    console.log(
      `\nNOT FINAL after ${(waitedMs / 1000).toFixed(0)} s: ${open.length} imports, e.g. ${openIds.join(', ')}`,
    )
  }
  // The batch view's counts should say the same as the records.
  const batchCounts: Record<string, number> = {}
  for (const b of batches) {
    const view = await client.getBatch(b.id, { limit: 1 })
    for (const [st, n] of Object.entries(view.counts)) if (n) batchCounts[st] = (batchCounts[st] ?? 0) + n
  }
  const recordCounts: Record<string, number> = {}
  for (const v of views) recordCounts[v.status] = (recordCounts[v.status] ?? 0) + 1
  const countsAgree =
    JSON.stringify(Object.entries(batchCounts).sort()) === JSON.stringify(Object.entries(recordCounts).sort())

  const token = await simToken()
  const rows = await mapLimit([...finals.values()], 8, async (view) => {
    const rec = view as ImportView & {
      finished_at?: string | null
      submitted_at?: string | null
      attempts?: { poll?: number; submit?: number }
      history?: { status: string; at: string }[]
    }
    const jobId = rec.ims?.job_id ?? null
    const job = jobId ? await imsJob(token, jobId) : null
    const finished = ms(rec.finished_at)
    const begin = ms(job?.begin_time)
    const end = ms(job?.end_time)
    // The place is taken when the submit starts (before the POST), and freed at the final state.
    const placeFrom = ms(
      rec.history?.find((h) => h.status === 'submitting')?.at ?? rec.submitted_at ?? job?.begin_time,
    )
    return {
      id: rec.id,
      status: rec.status,
      code: rec.error?.code ?? null,
      jobId,
      jobKnown: job !== null,
      jobStatus: job?.status ?? null,
      durationMs: end - begin,
      latencyMs: finished - end,
      polls: rec.attempts?.poll ?? Number.NaN,
      placeMs: finished - placeFrom,
      idleMs: Math.max(0, finished - end),
    }
  })

  if (!args.quiet) {
    console.log(
      `\n${'import'.padEnd(30)} ${'final'.padEnd(10)} ${'IMS job'.padEnd(8)} ${'dur s'.padStart(6)} ${'final-end ms'.padStart(12)} ${'share'.padStart(7)} ${'polls'.padStart(5)}`,
    )
    for (const r of rows) {
      const share = r.latencyMs / r.durationMs
      console.log(
        `${r.id.padEnd(30)} ${r.status.padEnd(10)} ${(r.jobStatus ?? (r.jobId ? 'unknown' : '-')).padEnd(8)} ${fixed(r.durationMs / 1000, 2).padStart(6)} ${fixed(r.latencyMs).padStart(12)} ${(Number.isFinite(share) ? pct(share) : '-').padStart(7)} ${fixed(r.polls).padStart(5)}${r.code ? `  ${r.code}` : ''}`,
      )
    }
  }

  const ended = rows.filter((r) => Number.isFinite(r.latencyMs) && Number.isFinite(r.durationMs))
  const byStatus: Record<string, number> = {}
  for (const r of rows) {
    const key = r.code ? `${r.status} (${r.code})` : r.status
    byStatus[key] = (byStatus[key] ?? 0) + 1
  }
  const latencies = ended.map((r) => r.latencyMs)
  const shares = ended.map((r) => r.latencyMs / r.durationMs)
  const polls = rows.map((r) => r.polls).filter(Number.isFinite)
  const placeMs = ended.reduce((a, r) => a + r.placeMs, 0)
  const idleMs = ended.reduce((a, r) => a + r.idleMs, 0)
  const finishedTimes = [...finals.values()].map((v) =>
    ms((v as { finished_at?: string | null }).finished_at),
  )

  console.log(
    [
      '',
      `imports                                ${COUNT} submitted, ${finals.size} final, ${open.length} not final`,
      `final states                           ${JSON.stringify(byStatus)}`,
      `batch view's counts                    ${countsAgree ? 'agree with the records' : `DISAGREE with the records: batch ${JSON.stringify(batchCounts)}, records ${JSON.stringify(recordCounts)}`}`,
      `jobs the simulator does not know       ${rows.filter((r) => r.jobId && !r.jobKnown).length}`,
      `imports without an IMS job id          ${rows.filter((r) => !r.jobId).length}`,
      `all final after                        ${fixed((Math.max(...finishedTimes) - started) / 1000, 1)} s from the first POST`,
      `job duration (begin -> end), mean      ${fixed(mean(ended.map((r) => r.durationMs)))} ms over ${ended.length} jobs`,
      `final - end_time, mean / p50 / p99     ${fixed(mean(latencies))} / ${fixed(quantile(latencies, 0.5))} / ${fixed(quantile(latencies, 0.99))} ms (max ${fixed(Math.max(...latencies))})`,
      `  as share of job duration, mean / p99 ${pct(mean(shares))} / ${pct(quantile(shares, 0.99))}  (mean latency / mean duration ${pct(mean(latencies) / mean(ended.map((r) => r.durationMs)))})`,
      `polls per import, mean / p50 / max     ${fixed(mean(polls), 2)} / ${fixed(quantile(polls, 0.5))} / ${fixed(Math.max(...polls))}`,
      `place-time held idle (after end_time)  ${pct(idleMs / placeMs)}  (${fixed(idleMs / 1000, 1)} s of ${fixed(placeMs / 1000, 1)} s)`,
    ].join('\n'),
  )
}

main().catch((err) => {
  console.error(`detection-check: ${(err as Error).message}`)
  console.error('Is the service running? Start it with `pnpm start` in another terminal.')
  process.exit(2)
})
