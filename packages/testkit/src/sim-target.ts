import { SIMULATOR_DEFAULTS, TargetConfig } from '@ims-importer/core'
import { uniqueName } from '@ims-importer/core/testing'
import { type RunningSimulator, type SimulatorOptions, startSimulator } from 'ims-simulator'

/** One simulator (its own project, counters and caps) and the target pointing at it. */
export interface SimTarget {
  target: TargetConfig
  sim: RunningSimulator
}

/** The target's side: its name, limits and poll schedule. */
export interface SimTargetConfigOptions {
  submitRate?: number
  submitWindowMs?: number
  maxInFlight?: number
  pollRate?: number
  deadlineMs?: number
  lostJobGraceMs?: number
  poll?: Partial<TargetConfig['poll']>
}

export interface SimTargetOptions extends SimTargetConfigOptions {
  /** The target's name as given (default: a fresh name from the label). */
  name?: string
  /** Simulator options, over the fast defaults (FAST_SIMULATOR). */
  sim?: SimulatorOptions
}

/** Fast IMS jobs, so that hundreds of imports fit in seconds. */
export const FAST_SIMULATOR: SimulatorOptions = { initMs: 50, jobDurationMs: { min: 150, max: 400 }, seed: 7 }

/** The simulator's default token credentials as a target's (or ims-client's) auth. */
export const SIM_AUTH = {
  type: 'token' as const,
  username: SIMULATOR_DEFAULTS.username,
  password: SIMULATOR_DEFAULTS.password,
  domainName: SIMULATOR_DEFAULTS.domainName,
}

/** A target named `name` on the simulator at `simUrl`, with its default credentials. */
export function simTargetConfig(simUrl: string, name: string, o: SimTargetConfigOptions = {}): TargetConfig {
  return TargetConfig.parse({
    name,
    imsEndpoint: simUrl,
    iamEndpoint: `${simUrl}/v3`,
    projectId: SIMULATOR_DEFAULTS.projectId,
    auth: SIM_AUTH,
    limits: {
      submitRate: o.submitRate ?? 20,
      submitWindowMs: o.submitWindowMs ?? 1000,
      pollRate: o.pollRate ?? 200,
      maxInFlight: o.maxInFlight ?? 40,
    },
    poll: { initialDelayMs: 200, factor: 1.5, maxDelayMs: 800, jitter: 0.1, ...o.poll },
    ...(o.deadlineMs ? { deadlineMs: o.deadlineMs } : {}),
    ...(o.lostJobGraceMs ? { lostJobGraceMs: o.lostJobGraceMs } : {}),
  })
}

/**
 * A simulator in this process (IMS is not under test) and a target on it named after `label`.
 * Close it with `sim.close()`.
 */
export async function startSimTarget(label: string, o: SimTargetOptions = {}): Promise<SimTarget> {
  const sim = await startSimulator({ ...FAST_SIMULATOR, ...o.sim })
  return { target: simTargetConfig(sim.url, o.name ?? uniqueName(label), o), sim }
}
