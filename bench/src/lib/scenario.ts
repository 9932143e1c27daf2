import { fileURLToPath } from 'node:url'
import { type BenchContext, createContext } from './context.js'
import { consoleLines } from './report.js'
import type { ScenarioId, ScenarioResult } from './result.js'

export interface Scenario {
  id: ScenarioId
  title: string
  run(ctx: BenchContext): Promise<ScenarioResult>
}

/** When a scenario file is the entry point (`tsx bench/src/scenarios/intake.ts`): run it and print. */
export async function runIfMain(meta: ImportMeta, scenario: Scenario): Promise<void> {
  if (process.argv[1] === undefined || fileURLToPath(meta.url) !== process.argv[1]) return
  const ctx = createContext(process.env, scenario.id)
  const result = await scenario.run(ctx)
  process.stdout.write(`${consoleLines(result).join('\n')}\n`)
  process.exit(0)
}
