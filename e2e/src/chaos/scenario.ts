import { type SimTarget, type SimTargetOptions, startSimTarget } from '@ims-importer/testkit'
import type { RunningSimulator } from 'ims-simulator'
import { loadChaosConfig } from './config.js'
import { type Stack, type StackOptions, startStack } from './stack.js'
import { workloadFiles } from './workload.js'

/**
 * What a scenario starts (Redis, proxy, simulator, stack), closed in reverse start order by
 * `close()`, which the test calls in afterAll or finally: the stack's processes stop before the
 * simulator and the Redis they talk to. Whatever started before a failure is closed all the same.
 */
export interface Started {
  /** Returns `resource`, registered to be closed with `close` before everything added earlier. */
  add<T>(resource: T, close: (resource: T) => Promise<unknown>): T
  close(): Promise<void>
}

export function started(): Started {
  const closers: (() => Promise<unknown>)[] = []
  return {
    add: (resource, close) => {
      closers.push(() => close(resource))
      return resource
    },
    close: async () => {
      for (let c = closers.pop(); c; c = closers.pop()) await c()
    },
  }
}

/**
 * The chaos runs' simulator target: jobs of 200 to 600 ms and a 40/s gate unless `o` says
 * otherwise, so that thousands of imports fit in minutes. Pre-flight on, as on a real target:
 * the target has OBS access on the simulator, whose OBS holds every file of the workload
 * (workloadFiles) and whose jobs judge them.
 */
export function startChaosTarget(label: string, o: SimTargetOptions = {}): Promise<SimTarget> {
  // CHAOS_PREFLIGHT=off: without, for a baseline (read where every chaos setting is: config.ts).
  const preflight = loadChaosConfig(process.env).preflight
  return startSimTarget(label, {
    submitRate: 40,
    ...(preflight ? { obs: { preflight: 'enforce' as const }, files: workloadFiles() } : {}),
    ...o,
    poll: { initialDelayMs: 250, maxDelayMs: 1000, ...o.poll },
    sim: { initMs: 50, jobDurationMs: { min: 200, max: 600 }, seed: 11, ...o.sim },
  })
}

/** A simulator target named after `label` and the stack (API + workers) over it, both in `into`. */
export async function startSimStack(
  into: Started,
  label: string,
  simOptions: SimTargetOptions,
  stackOptions: Omit<StackOptions, 'targets'>,
): Promise<{ t: SimTarget; sim: RunningSimulator; stack: Stack }> {
  const t = into.add(await startChaosTarget(label, simOptions), (x) => x.sim.close())
  const stack = into.add(await startStack({ ...stackOptions, targets: [t] }), (s) => s.close())
  return { t, sim: t.sim, stack }
}
