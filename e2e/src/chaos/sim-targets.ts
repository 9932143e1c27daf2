import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TargetConfig } from '@ims-importer/core'
import { uniqueName } from '@ims-importer/core/testing'
import { type RunningSimulator, type SimulatorOptions, startSimulator } from 'ims-simulator'

/** One simulator (its own project, counters and caps) and the target pointing at it. */
export interface SimTarget {
  target: TargetConfig
  sim: RunningSimulator
}

export interface SimTargetOptions {
  submitRate?: number
  submitWindowMs?: number
  maxInFlight?: number
  pollRate?: number
  sim?: SimulatorOptions
}

/**
 * The simulator is IMS, not under test: it runs in the test process. Fast jobs and a short poll
 * schedule, so that thousands of imports fit in minutes.
 */
export async function startSimTarget(label: string, o: SimTargetOptions = {}): Promise<SimTarget> {
  const sim = await startSimulator({ initMs: 50, jobDurationMs: { min: 200, max: 600 }, seed: 11, ...o.sim })
  const target = TargetConfig.parse({
    name: uniqueName(label),
    imsEndpoint: sim.url,
    iamEndpoint: `${sim.url}/v3`,
    projectId: 'sim-project',
    auth: { type: 'token', username: 'sim-user', password: 'sim-password', domainName: 'sim-domain' },
    limits: {
      submitRate: o.submitRate ?? 40,
      submitWindowMs: o.submitWindowMs ?? 1000,
      pollRate: o.pollRate ?? 200,
      maxInFlight: o.maxInFlight ?? 40,
    },
    poll: { initialDelayMs: 250, factor: 1.5, maxDelayMs: 1000, jitter: 0.1 },
  })
  return { target, sim }
}

/** The targets file every process of the stack reads through IMS_TARGETS_FILE. */
export function writeTargetsFile(targets: TargetConfig[]): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ims-chaos-targets-'))
  const path = join(dir, 'targets.json')
  writeFileSync(path, JSON.stringify({ targets }))
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) }
}
