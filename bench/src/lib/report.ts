import type { MachineInfo } from './machine.js'
import type { Figure, ScenarioResult } from './result.js'

export interface BenchReport {
  machine: MachineInfo
  startedAt: string
  durationS: number
  /** Scenarios asked for (all unless --only). */
  only: string[] | null
  scenarios: ScenarioResult[]
  /** Scenarios that threw, with the message. */
  errors: { id: string; message: string }[]
}

export function fmt(x: number | undefined): string {
  if (x === undefined || Number.isNaN(x)) return '–'
  const a = Math.abs(x)
  if (a !== 0 && a < 0.01) return x.toExponential(2)
  if (a >= 10_000) return Math.round(x).toLocaleString('en-US')
  if (a >= 100) return x.toFixed(0)
  if (a >= 10) return x.toFixed(1)
  // Ratios and shares near a target (0.949 against 0.95, 1.107 against 1.10) need the third digit.
  if (a < 2) return x.toFixed(3)
  return x.toFixed(2)
}

function targetText(f: Figure): string {
  if (!f.target) return ''
  return `${f.target.on === 'ratio' ? 'ratio' : 'value'} ${f.target.op} ${f.target.value}`
}

function verdict(f: Figure): string {
  if (f.pass === undefined) return ''
  return f.pass ? 'pass' : '**MISS**'
}

const cell = (s: string | number) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ')

export function figureRows(figures: Figure[], scenario?: (f: Figure) => string): string[] {
  const out = [
    `| ${scenario ? 'scenario | ' : ''}figure | ours | baseline | baseline value | ratio | target | verdict |`,
    `| ${scenario ? '--- | ' : ''}--- | ---: | --- | ---: | ---: | --- | --- |`,
  ]
  for (const f of figures)
    out.push(
      `| ${scenario ? `${cell(scenario(f))} | ` : ''}${cell(f.name)} (${cell(f.unit)}) | ${fmt(f.value)} | ${cell(f.baseline?.name ?? '')} | ${fmt(f.baseline?.value)} | ${f.ratio === undefined ? '' : fmt(f.ratio)} | ${targetText(f)} | ${verdict(f)} |`,
    )
  return out
}

/** The headline figures of every scenario in one table (latest.md's summary, the README's table). */
export function summaryRows(scenarios: ScenarioResult[]): string[] {
  const owner = new Map<Figure, string>()
  const figures: Figure[] = []
  const number = (s: ScenarioResult) => Number.parseInt(s.title, 10) || 99
  for (const s of [...scenarios].sort((a, b) => number(a) - number(b)))
    for (const f of s.figures)
      if (f.headline) {
        owner.set(f, s.title.split(':')[0] ?? s.id)
        figures.push(f)
      }
  return figureRows(figures, (f) => owner.get(f) ?? '')
}

export function renderMarkdown(report: BenchReport): string {
  const m = report.machine
  const lines: string[] = [
    '# ims-importer benchmark results',
    '',
    `Run ${report.startedAt}, ${fmt(report.durationS)} s in all${report.only ? ` (only: ${report.only.join(', ')})` : ''}.`,
    '',
    '| machine | |',
    '| --- | --- |',
    `| CPU | ${m.cpuModel}, ${m.cores} cores |`,
    `| memory | ${m.memoryGiB} GiB |`,
    `| OS | ${m.os} |`,
    `| Node | ${m.node} |`,
    `| Redis | ${m.redis} (a private redis-server per scenario) |`,
    `| commit | ${m.gitCommit}${m.gitDirty ? ' (work tree had uncommitted changes)' : ''} |`,
    `| load average at start (1 min) | ${m.loadAverage1m} |`,
    '',
    'Every figure is measured in the same run as its baseline; ratio = ours / baseline.',
    '',
    '## Summary',
    '',
    ...summaryRows(report.scenarios),
    '',
  ]
  for (const s of report.scenarios) {
    const load = s.loadAverage
      ? ` Load average (1 min) ${fmt(s.loadAverage.start)} at its start, ${fmt(s.loadAverage.end)} at its end (${report.machine.cores} cores).`
      : ''
    lines.push(`## ${s.title}`, '', `Took ${fmt(s.durationS)} s.${load}`, '', ...figureRows(s.figures), '')
    for (const t of s.tables) {
      lines.push(`**${t.title}**`, '', `| ${t.columns.map(cell).join(' | ')} |`)
      lines.push(`| ${t.columns.map(() => '---').join(' | ')} |`)
      for (const r of t.rows)
        lines.push(`| ${r.map((v) => (typeof v === 'number' ? fmt(v) : cell(v))).join(' | ')} |`)
      lines.push('')
    }
    if (Object.keys(s.params).length > 0) {
      lines.push('Parameters:', '', '```json', JSON.stringify(s.params, null, 2), '```', '')
    }
    if (s.notes.length > 0) lines.push('Notes:', '', ...s.notes.map((n) => `- ${n}`), '')
  }
  if (report.errors.length > 0) {
    lines.push('## Scenarios that failed to run', '')
    for (const e of report.errors) lines.push(`- ${e.id}: ${cell(e.message)}`)
    lines.push('')
  }
  return lines.join('\n')
}

/** The figures of one scenario as plain text lines, for the console. */
export function consoleLines(s: ScenarioResult): string[] {
  const out = [`== ${s.title} (${fmt(s.durationS)} s)`]
  for (const f of s.figures) {
    const base = f.baseline ? ` | ${f.baseline.name}: ${fmt(f.baseline.value)} | ratio ${fmt(f.ratio)}` : ''
    const tgt = f.target ? ` | target ${targetText(f)}: ${f.pass ? 'pass' : 'MISS'}` : ''
    out.push(`  ${f.name}: ${fmt(f.value)} ${f.unit}${base}${tgt}`)
  }
  for (const t of s.tables) {
    out.push(`  -- ${t.title}`)
    out.push(`  ${t.columns.join(' | ')}`)
    for (const r of t.rows) out.push(`  ${r.map((v) => (typeof v === 'number' ? fmt(v) : v)).join(' | ')}`)
  }
  for (const n of s.notes) out.push(`  * ${n}`)
  return out
}
