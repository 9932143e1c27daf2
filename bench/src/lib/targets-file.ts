import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SIMULATOR_DEFAULTS } from '@ims-importer/core'

export interface BenchTarget {
  name: string
  simulatorUrl: string
  limits: { submitRate: number; submitWindowMs: number; pollRate: number; maxInFlight: number }
  poll: { initialDelayMs: number; factor: number; maxDelayMs: number; jitter: number }
}

/** Writes an IMS_TARGETS_FILE (JSON, core's TargetsFile format) for targets on simulators. */
export function writeTargetsFile(targets: BenchTarget[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'ims-bench-targets-'))
  const file = join(dir, 'targets.json')
  const body = {
    targets: targets.map((t) => ({
      name: t.name,
      imsEndpoint: t.simulatorUrl,
      iamEndpoint: `${t.simulatorUrl}/v3`,
      projectId: SIMULATOR_DEFAULTS.projectId,
      auth: {
        type: 'token',
        username: SIMULATOR_DEFAULTS.username,
        password: SIMULATOR_DEFAULTS.password,
        domainName: SIMULATOR_DEFAULTS.domainName,
      },
      limits: t.limits,
      poll: t.poll,
    })),
  }
  writeFileSync(file, JSON.stringify(body, null, 2))
  return file
}

/** The simulator's default token credentials as an ims-client auth. */
export const SIM_AUTH = {
  type: 'token' as const,
  username: SIMULATOR_DEFAULTS.username,
  password: SIMULATOR_DEFAULTS.password,
  domainName: SIMULATOR_DEFAULTS.domainName,
}
