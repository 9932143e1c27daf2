import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { type ChaosRow, markdownTable } from './results.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where scenarios append their row (JSON lines); only in `pnpm test:chaos`. */
    chaosResultsFile: string | undefined
  }
}

const RESULTS_MD = join(import.meta.dirname, '..', '..', 'chaos-results.md')

/**
 * Global setup of vitest.chaos.config.ts: hands the scenarios a rows file, and at the end of the
 * run prints the results table and writes it to e2e/chaos-results.md.
 */
export default function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'ims-chaos-results-'))
  const file = join(dir, 'rows.jsonl')
  project.provide('chaosResultsFile', file)
  return () => {
    const rows: ChaosRow[] = existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l.trim())
          .map((l) => JSON.parse(l) as ChaosRow)
      : []
    rmSync(dir, { recursive: true, force: true })
    if (rows.length === 0) return
    const table = markdownTable(rows)
    const md = `# Chaos results\n\nLast \`pnpm test:chaos\` run, ${new Date().toISOString().slice(0, 10)} (2-core machine, real processes, real Redis, the IMS simulator).\n\n${table}`
    writeFileSync(RESULTS_MD, md)
    process.stdout.write(`\n${table}\nwritten to ${RESULTS_MD}\n`)
  }
}
