import { join } from 'node:path'
import { freePort, uniqueName } from '@ims-importer/core/testing'
import type { Faults, RequestLogEntry, SimulatorCounters } from 'ims-simulator'
import { appBundle } from './bundle.js'
import { onAFreePort, spawnTs, type TsProcess, waitForHttp } from './processes.js'
import { type SimTarget, type SimTargetConfigOptions, simTargetConfig } from './sim-target.js'

const SIM_APP = join(import.meta.dirname, '..', '..', '..', 'apps', 'ims-simulator')

/** The control API of a simulator in another process (`/__sim/`), as promises. */
export interface RemoteSimulatorControl {
  counters(): Promise<SimulatorCounters>
  requestLog(op?: string): Promise<RequestLogEntry[]>
  setFaults(faults: Faults): Promise<void>
}

export interface SimulatorProcess {
  url: string
  process: TsProcess
  control: RemoteSimulatorControl
  close(): Promise<void>
}

/** The fast job settings of FAST_SIMULATOR, as the simulator's env. */
export const FAST_SIMULATOR_ENV: Record<string, string> = {
  SIM_INIT_MS: '50',
  SIM_JOB_MIN_MS: '150',
  SIM_JOB_MAX_MS: '400',
  SIM_SEED: '7',
  SIM_LOG: 'false',
}

/**
 * The simulator as its own process (apps/ims-simulator/src/main.ts), configured by its SIM_*
 * environment. For tests that judge what IMS saw by time (sliding-window limits): an IMS in the
 * test process stamps arrivals late whenever the test's own work holds its event loop.
 */
export async function spawnSimulator(env: Record<string, string> = {}): Promise<SimulatorProcess> {
  return onAFreePort(() => spawnSimulatorOnce(env))
}

async function spawnSimulatorOnce(env: Record<string, string>): Promise<SimulatorProcess> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const p = spawnTs({
    name: 'ims-simulator',
    entry: await appBundle(SIM_APP),
    cwd: SIM_APP,
    env: { ...FAST_SIMULATOR_ENV, SIM_HOST: '127.0.0.1', SIM_PORT: String(port), ...env },
  })
  try {
    await waitForHttp(`${url}/__sim/counters`, p)
  } catch (err) {
    await p.stop(1000)
    throw err
  }
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`)
    if (!res.ok) throw new Error(`ims-simulator: GET ${path} answered ${res.status}`)
    return (await res.json()) as T
  }
  return {
    url,
    process: p,
    control: {
      counters: () => get<SimulatorCounters>('/__sim/counters'),
      requestLog: async (op) =>
        (await get<{ requests: RequestLogEntry[] }>(`/__sim/requests${op ? `?op=${op}` : ''}`)).requests,
      setFaults: async (faults) => {
        const res = await fetch(`${url}/__sim/faults`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(faults),
        })
        if (res.status !== 204) throw new Error(`ims-simulator: PUT /__sim/faults answered ${res.status}`)
      },
    },
    close: () => p.stop(5000),
  }
}

/** A target on a simulator of its own process (see spawnSimulator); `simEnv` over the fast defaults. */
export async function spawnSimTarget(
  label: string,
  o: SimTargetConfigOptions & { name?: string; simEnv?: Record<string, string> } = {},
): Promise<Omit<SimTarget, 'sim'> & { sim: SimulatorProcess }> {
  const sim = await spawnSimulator(o.simEnv)
  return { target: simTargetConfig(sim.url, o.name ?? uniqueName(label), o), sim }
}
