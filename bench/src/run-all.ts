// `pnpm bench [-- --only intake,makespan]`: runs the scenarios in order and writes
// results/latest.{json,md} (a full run) plus a timestamped copy under results/history/.
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { createContext, scoped } from './lib/context.js'
import { machineInfo } from './lib/machine.js'
import { type BenchReport, consoleLines, renderMarkdown } from './lib/report.js'
import type { ScenarioId } from './lib/result.js'
import type { Scenario } from './lib/scenario.js'
import { capacityScenario } from './scenarios/capacity.js'
import { inflightCostScenario } from './scenarios/inflight-cost.js'
import { intakeScenario } from './scenarios/intake.js'
import { limitPrecisionScenario } from './scenarios/limit-precision.js'
import { makespanScenario } from './scenarios/makespan.js'
import { pollScheduleScenario } from './scenarios/poll-schedule.js'

/** Cheapest first, so that a broken environment shows early. */
const SCENARIOS: Scenario[] = [
  pollScheduleScenario,
  intakeScenario,
  limitPrecisionScenario,
  makespanScenario,
  inflightCostScenario,
  capacityScenario,
]

function parseOnly(argv: string[]): ScenarioId[] | null {
  const i = argv.indexOf('--only')
  if (i < 0) return null
  const value = argv[i + 1]
  if (!value) throw new Error('--only needs a comma-separated list of scenarios')
  const ids = value.split(',').map((s) => s.trim()) as ScenarioId[]
  const known = new Set(SCENARIOS.map((s) => s.id))
  const unknown = ids.filter((id) => !known.has(id))
  if (unknown.length > 0)
    throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${[...known].join(', ')}`)
  return ids
}

const ctx = createContext(process.env, 'bench')
const only = parseOnly(process.argv.slice(2))
const resultsDir = join(ctx.root, 'bench', 'results')
const started = Date.now()
const report: BenchReport = {
  machine: machineInfo(ctx.root),
  startedAt: new Date(started).toISOString(),
  durationS: 0,
  only,
  scenarios: [],
  errors: [],
}
ctx.progress(
  `machine: ${report.machine.cpuModel}, ${report.machine.cores} cores, Node ${report.machine.node}, Redis ${report.machine.redis}`,
)

for (const scenario of SCENARIOS) {
  if (only && !only.includes(scenario.id)) continue
  ctx.progress(`scenario ${scenario.id}: start`)
  try {
    const loadStart = loadavg()[0] ?? 0
    const result = await scenario.run(scoped(ctx, scenario.id))
    result.loadAverage = { start: loadStart, end: loadavg()[0] ?? 0 }
    report.scenarios.push(result)
    process.stdout.write(`${consoleLines(result).join('\n')}\n\n`)
  } catch (err) {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err)
    report.errors.push({ id: scenario.id, message })
    ctx.progress(`scenario ${scenario.id} failed: ${message}`)
  }
}
report.durationS = (Date.now() - started) / 1000

const json = `${JSON.stringify(report, null, 2)}\n`
const md = renderMarkdown(report)
const stamp = report.startedAt.replace(/[:.]/g, '-')
const suffix = only ? `-only-${only.join('+')}` : ''
mkdirSync(join(resultsDir, 'history'), { recursive: true })
writeFileSync(join(resultsDir, 'history', `${stamp}${suffix}.json`), json)
writeFileSync(join(resultsDir, 'history', `${stamp}${suffix}.md`), md)
if (!only) {
  writeFileSync(join(resultsDir, 'latest.json'), json)
  writeFileSync(join(resultsDir, 'latest.md'), md)
}
ctx.progress(
  `done in ${report.durationS.toFixed(0)} s; wrote ${only ? `results/history/${stamp}${suffix}.*` : 'results/latest.json and latest.md'}`,
)
process.exit(report.errors.length > 0 ? 1 : 0)
