// The scenario fixture and the verdicts the chaos test files share. Test-only: uses vitest's
// afterAll, expect and inject, so it is called from inside a describe or a test.
import type { ImportRecord } from '@ims-importer/core'
import type { SimTarget, SimTargetOptions } from '@ims-importer/testkit'
import type { RunningSimulator } from 'ims-simulator'
import { afterAll, expect, inject } from 'vitest'
import { duplicateMarkers, explainDuplicates, lostWithStatus, reportRow, summarize } from './results.js'
import { type Started, started, startSimStack } from './scenario.js'
import type { Stack, StackOptions } from './stack.js'
import { type Accepted, EXPECTED_CODE, type ImportKind } from './workload.js'

/** A describe block's scenario: what it starts is closed after its tests (see `started`). */
export interface ChaosScenario extends Started {
  /** `startSimStack` into this scenario. */
  startSimStack(
    label: string,
    simOptions: SimTargetOptions,
    stackOptions: Omit<StackOptions, 'targets'>,
  ): Promise<{ t: SimTarget; sim: RunningSimulator; stack: Stack }>
  /** Summarizes the run (as `summarize`) and writes the row to stdout and the run's results file. */
  report(...row: Parameters<typeof summarize>): void
}

export function chaosScenario(): ChaosScenario {
  const running = started()
  afterAll(() => running.close())
  return {
    ...running,
    startSimStack: (label, simOptions, stackOptions) =>
      startSimStack(running, label, simOptions, stackOptions),
    report: (...row) => reportRow(summarize(...row), inject('chaosResultsFile')),
  }
}

/** Every accepted import reached a final state, and IMS saw no marker created twice. */
function expectNoneLostNorDuplicated(
  ids: string[],
  records: Map<string, ImportRecord>,
  sim: RunningSimulator,
  logs: string,
): void {
  expect(lostWithStatus(ids, records), logs).toEqual([])
  expect(duplicateMarkers([sim]), explainDuplicates(duplicateMarkers([sim]), records, [sim])).toEqual([])
}

/**
 * None lost nor duplicated, every import succeeded and IMS saw exactly one create for each;
 * returns the simulator's counters for the scenario's own checks.
 */
export function expectAllSucceededOnce(
  ids: string[],
  records: Map<string, ImportRecord>,
  sim: RunningSimulator,
  logs: string,
): ReturnType<RunningSimulator['control']['counters']> {
  expectNoneLostNorDuplicated(ids, records, sim, logs)
  const notSucceeded = [...records.values()].filter((r) => r.status !== 'succeeded')
  expect(notSucceeded.map((r) => [r.id, r.status, r.error?.code])).toEqual([])
  const counters = sim.control.counters()
  for (const id of ids) expect(counters.createsByMarker[id], id).toBe(1)
  return counters
}

/** Succeeded for an `ok` import, failed with its kind's IMS code otherwise. */
export const endedAsKind = (kind: ImportKind, r: ImportRecord): boolean =>
  kind === 'ok' ? r.status === 'succeeded' : r.status === 'failed' && r.error?.code === EXPECTED_CODE[kind]

/**
 * None lost nor duplicated, each accepted import ended as `ok` says for its kind, and IMS saw one
 * create for each import that reached it (none for those it refused at the POST).
 */
export function expectFinalByKind(
  accepted: Accepted[],
  records: Map<string, ImportRecord>,
  sim: RunningSimulator,
  logs: string,
  kindOf: (index: number) => ImportKind,
  ok: (kind: ImportKind, r: ImportRecord) => boolean = endedAsKind,
): void {
  expectNoneLostNorDuplicated(
    accepted.map((a) => a.id),
    records,
    sim,
    logs,
  )
  const wrong: [string, string, string, string | undefined][] = []
  const counters = sim.control.counters()
  for (const a of accepted) {
    const kind = kindOf(a.index)
    const r = records.get(a.id) as ImportRecord
    if (!ok(kind, r))
      wrong.push([a.id, kind, r.status, r.error ? `${r.error.code}: ${r.error.message}` : undefined])
    expect(counters.createsByMarker[a.id] ?? 0, `${a.id} (${kind})`).toBe(kind === 'reject' ? 0 : 1)
  }
  expect(wrong).toEqual([])
}
