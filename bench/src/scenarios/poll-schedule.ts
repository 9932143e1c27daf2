import { PollSchedule } from '@ims-importer/core'
import { pollDelayMs } from '@ims-importer/worker'
import type { BenchContext } from '../lib/context.js'
import { type Figure, figure, type ScenarioResult, type Table } from '../lib/result.js'
import { runIfMain, type Scenario } from '../lib/scenario.js'
import { mean, percentile, seededRandom } from '../lib/stats.js'

// The worker's own schedule function, so this table cannot drift from what the worker does.
export { pollDelayMs }

export interface Outcome {
  polls: number
  /** Time from the job's end to the poll that sees it (ms). */
  latencyMs: number
}

/** Polls one job of `durationMs` (from submit) with a schedule: how many polls, how late seen. */
export function followSchedule(schedule: PollSchedule, durationMs: number, random: () => number): Outcome {
  let t = 0
  for (let attempt = 1; ; attempt++) {
    t += pollDelayMs(schedule, attempt, random)
    if (t >= durationMs) return { polls: attempt, latencyMs: t - durationMs }
  }
}

/** The Terraform providers' way (HWC quick import): first poll after 10 s, then every 10 s. */
export function followFixed(intervalMs: number, durationMs: number): Outcome {
  const polls = Math.max(1, Math.ceil(durationMs / intervalMs))
  return { polls, latencyMs: polls * intervalMs - durationMs }
}

const MIN = 60_000
const HOUR = 60 * MIN
const DURATIONS: { label: string; ms: number }[] = [
  { label: '1 min', ms: MIN },
  { label: '5 min', ms: 5 * MIN },
  { label: '15 min', ms: 15 * MIN },
  { label: '30 min', ms: 30 * MIN },
  { label: '1 h', ms: HOUR },
  { label: '2 h', ms: 2 * HOUR },
  { label: '5 h', ms: 5 * HOUR },
  { label: '10 h', ms: 10 * HOUR },
]
const TRIALS = 4000
/** Each trial's real duration is drawn within +/- this share of the nominal one (no aliasing with a fixed poll). */
const DURATION_SPREAD = 0.1
const TF_INTERVAL_MS = 10_000

const DEFAULT = PollSchedule.parse({})
const VARIANTS: { name: string; schedule: PollSchedule }[] = [
  { name: 'default (30 s, x1.5, ceiling 5 min)', schedule: DEFAULT },
  {
    name: 'responsive (10 s, x1.5, ceiling 1 min)',
    schedule: PollSchedule.parse({ initialDelayMs: 10_000, factor: 1.5, maxDelayMs: MIN }),
  },
  {
    name: 'balanced (30 s, x1.5, ceiling 2 min)',
    schedule: PollSchedule.parse({ initialDelayMs: 30_000, factor: 1.5, maxDelayMs: 2 * MIN }),
  },
  {
    name: 'thrifty (60 s, x2, ceiling 15 min)',
    schedule: PollSchedule.parse({ initialDelayMs: MIN, factor: 2, maxDelayMs: 15 * MIN }),
  },
]

interface Row {
  polls: number
  latMeanS: number
  latP99S: number
}

function simulate(follow: (d: number) => Outcome, nominalMs: number, random: () => number): Row {
  const polls: number[] = []
  const lat: number[] = []
  for (let i = 0; i < TRIALS; i++) {
    const d = nominalMs * (1 - DURATION_SPREAD + random() * 2 * DURATION_SPREAD)
    const o = follow(d)
    polls.push(o.polls)
    lat.push(o.latencyMs / 1000)
  }
  return { polls: mean(polls), latMeanS: mean(lat), latP99S: percentile(lat, 99) }
}

async function run(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now()
  const random = seededRandom(20_240_917)
  const figures: Figure[] = []
  const mainRows: (string | number)[][] = []
  const variantRows: (string | number)[][] = []
  for (const d of DURATIONS) {
    const ours = simulate((ms) => followSchedule(DEFAULT, ms, random), d.ms, random)
    const tf = simulate((ms) => followFixed(TF_INTERVAL_MS, ms), d.ms, random)
    mainRows.push([
      d.label,
      ours.polls,
      tf.polls,
      ours.polls / tf.polls,
      ours.latMeanS,
      ours.latP99S,
      tf.latMeanS,
      (ours.latMeanS * 1000 * 100) / d.ms,
    ])
    const againstTerraform = (name: string, unit: string, value: number, terraform: number) =>
      figure({
        headline: d.label === '15 min' || d.label === '2 h',
        name: `${name}, ${d.label} job`,
        unit,
        value,
        baseline: { name: 'fixed 10 s poll (Terraform)', value: terraform },
      })
    figures.push(
      againstTerraform('polls per import', 'polls', ours.polls, tf.polls),
      againstTerraform('mean detection latency', 's', ours.latMeanS, tf.latMeanS),
    )
    const row: (string | number)[] = [d.label]
    for (const v of VARIANTS) {
      const r = simulate((ms) => followSchedule(v.schedule, ms, random), d.ms, random)
      row.push(`${r.polls.toFixed(1)} / ${r.latMeanS.toFixed(0)} s`)
    }
    row.push(`${tf.polls.toFixed(1)} / ${tf.latMeanS.toFixed(0)} s`)
    variantRows.push(row)
  }
  ctx.progress(
    `simulated ${DURATIONS.length} durations x ${VARIANTS.length + 1} schedules x ${TRIALS} trials`,
  )

  const tables: Table[] = [
    {
      title: 'Default schedule against a fixed 10 s poll (simulated clock, 4000 jobs per row)',
      columns: [
        'job duration',
        'polls/import (default)',
        'polls/import (fixed 10 s)',
        'polls ratio',
        'detection latency mean (s)',
        'detection latency p99 (s)',
        'fixed 10 s latency mean (s)',
        'latency as % of duration',
      ],
      rows: mainRows,
    },
    {
      title:
        'Tuning: polls per import / mean detection latency, per schedule (target.poll in IMS_TARGETS_FILE)',
      columns: ['job duration', ...VARIANTS.map((v) => v.name), 'fixed 10 s (Terraform)'],
      rows: variantRows,
    },
  ]
  return {
    id: 'poll-schedule',
    title: '5. Poll schedule: polls per import against detection latency',
    durationS: (Date.now() - started) / 1000,
    figures,
    tables,
    params: {
      defaultSchedule: DEFAULT,
      trialsPerRow: TRIALS,
      durationSpread: `each job's duration drawn uniformly within +/-${DURATION_SPREAD * 100}% of the nominal one`,
      baseline:
        'first poll after 10 s, then every 10 s (terraform-provider-huaweicloud quick import: Delay 10 s, MinTimeout 10 s)',
    },
    notes: [
      'Pure simulation of the schedule (no Redis, no IMS): a poll at time t sees the job final when t >= its duration; detection latency = time of that poll - duration. Processing and network time are left out (they add the same few ms to every schedule).',
      'Polls per import grow with the logarithm of the duration until the ceiling is reached, then linearly at 3600 s / ceiling per hour (12/h for the default 5 min ceiling); the fixed 10 s poll costs 360/h. Detection latency is bounded by the ceiling (mean about half of it, plus jitter).',
      'For a batch bound by the in-flight cap, every second of detection latency keeps a slot busy: the makespan grows by about latency/duration (last column). Jobs of a few minutes want a lower ceiling (responsive); jobs of hours can afford the default or thrifty.',
    ],
  }
}

export const pollScheduleScenario: Scenario = {
  id: 'poll-schedule',
  title: 'Poll schedule',
  run,
}

await runIfMain(import.meta, pollScheduleScenario)
