/** What every scenario returns; run-all.ts collects these into results/latest.{json,md}. */

export type ScenarioId =
  | 'intake'
  | 'makespan'
  | 'limit-precision'
  | 'inflight-cost'
  | 'poll-schedule'
  | 'capacity'

export interface Target {
  /** What the target is checked on: the figure's value or its ratio to the baseline. */
  on: 'value' | 'ratio'
  op: '>=' | '<='
  value: number
}

export interface Figure {
  name: string
  unit: string
  value: number
  baseline?: { name: string; value: number }
  /** value / baseline.value */
  ratio?: number
  target?: Target
  /** Only when a target is set. */
  pass?: boolean
  note?: string
  /** Shown in the summary table at the top of latest.md (and the README). */
  headline?: boolean
}

export interface Table {
  title: string
  columns: string[]
  rows: (string | number)[][]
}

export interface ScenarioResult {
  id: ScenarioId
  title: string
  durationS: number
  figures: Figure[]
  tables: Table[]
  /** Parameters as used (R, C, durations, schedules ...). */
  params: Record<string, unknown>
  /** Formulas, what exactly was measured, and where a target was missed, by how much and why. */
  notes: string[]
  /** The machine's 1-minute load average when the scenario started and ended (set by run-all). */
  loadAverage?: { start: number; end: number }
}

export interface FigureInput {
  name: string
  unit: string
  value: number
  baseline?: { name: string; value: number }
  target?: Target
  note?: string
  headline?: boolean
}

/** A figure with its ratio to the baseline and, when it has a target, pass or fail. */
export function figure(input: FigureInput): Figure {
  const out: Figure = { name: input.name, unit: input.unit, value: input.value }
  if (input.baseline) {
    out.baseline = input.baseline
    out.ratio = input.baseline.value === 0 ? Number.NaN : input.value / input.baseline.value
  }
  if (input.target) {
    out.target = input.target
    const checked = input.target.on === 'ratio' ? out.ratio : input.value
    out.pass =
      checked !== undefined &&
      !Number.isNaN(checked) &&
      (input.target.op === '>=' ? checked >= input.target.value : checked <= input.target.value)
  }
  if (input.note) out.note = input.note
  if (input.headline || input.target) out.headline = true
  return out
}

/** How far a figure is from its target, in percent of the target (negative = missed). */
export function marginPct(f: Figure): number | null {
  if (!f.target) return null
  const checked = f.target.on === 'ratio' ? f.ratio : f.value
  if (checked === undefined) return null
  const diff = f.target.op === '>=' ? checked - f.target.value : f.target.value - checked
  return (diff / f.target.value) * 100
}
