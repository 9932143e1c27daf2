import { SIMULATOR_DEFAULTS, TargetConfig } from '@ims-importer/core'
import { uniqueName } from '@ims-importer/core/testing'
import {
  bitmapKeyFor,
  type ObsSeed,
  type RunningSimulator,
  type SimulatorOptions,
  startSimulator,
} from 'ims-simulator'

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
  /**
   * OBS access on the simulator (its default AK/SK) and the simulator's region on the target, so
   * the worker's pre-flight checks each file there (`preflight`: default enforce, as for any target
   * with OBS). Absent: no OBS, no pre-flight, as before.
   */
  obs?: { preflight?: 'enforce' | 'warn' | 'off' }
}

export interface SimTargetOptions extends SimTargetConfigOptions {
  /** The target's name as given (default: a fresh name from the label). */
  name?: string
  /** Simulator options, over the fast defaults (FAST_SIMULATOR). */
  sim?: SimulatorOptions
  /**
   * The image files (`bucket:key`, as in `image_url`) the simulator's OBS holds, seeded in its
   * region (obsSeedFor) and judged by its jobs as IMS does (obsJudging). Usually with `obs`.
   */
  files?: readonly string[]
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
    ...(o.obs
      ? {
          region: SIMULATOR_DEFAULTS.region,
          obs: { endpoint: simUrl, auth: { ak: SIMULATOR_DEFAULTS.obsAk, sk: SIMULATOR_DEFAULTS.obsSk } },
          ...(o.obs.preflight ? { preflight: o.obs.preflight } : {}),
        }
      : {}),
  })
}

const GIB = 2 ** 30

/**
 * The simulator's OBS holding `files` (`bucket:key`), in the simulator's default region, Standard
 * class: each file `sizeOf(file, i)` bytes (default 2 to 30 GiB, spread by index; fits a min_disk
 * of 40), and a `.mf` bitmap beside each RAW file (`.raw`, `.img` or no extension).
 */
export function obsSeedFor(
  files: readonly string[],
  sizeOf: (file: string, i: number) => number = (_, i) => Math.round((2 + ((i * 7) % 29)) * GIB),
): ObsSeed {
  const buckets = new Map<string, { key: string; size: number }[]>()
  files.forEach((file, i) => {
    const colon = file.indexOf(':')
    const bucket = file.slice(0, colon)
    const key = file.slice(colon + 1)
    const objects = buckets.get(bucket) ?? []
    objects.push({ key, size: sizeOf(file, i) })
    if (/(\.raw|\.img|\/[^./]*)$/i.test(`/${key}`)) objects.push({ key: bitmapKeyFor(key), size: 1 << 20 })
    buckets.set(bucket, objects)
  })
  return {
    buckets: [...buckets].map(([name, objects]) => ({
      name,
      region: SIMULATOR_DEFAULTS.region,
      objects,
    })),
  }
}

/**
 * A simulator in this process (IMS is not under test) and a target on it named after `label`.
 * Close it with `sim.close()`.
 */
export async function startSimTarget(label: string, o: SimTargetOptions = {}): Promise<SimTarget> {
  const sim = await startSimulator({
    ...FAST_SIMULATOR,
    ...(o.files ? { obs: obsSeedFor(o.files), obsJudging: true, region: SIMULATOR_DEFAULTS.region } : {}),
    ...o.sim,
  })
  return { target: simTargetConfig(sim.url, o.name ?? uniqueName(label), o), sim }
}
