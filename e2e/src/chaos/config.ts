/**
 * The sizes of the chaos scenarios. `CHAOS=long` (set by `pnpm test:chaos`) picks the long
 * versions; anything else the short ones that run in the default `pnpm test`. The only place
 * that reads the chaos env; test files pass `process.env` in.
 */
export interface ChaosConfig {
  long: boolean
  /**
   * The chaos targets check each file in the simulator's OBS before submitting (pre-flight
   * enforce, scenario.ts startChaosTarget); CHAOS_PREFLIGHT=off runs them without, as before.
   */
  preflight: boolean
  workerKill: { imports: number; workers: number; minKills: number; timeoutMs: number }
  redisCrash: { imports: number; crashes: number; timeoutMs: number }
  outage: { imports: number; outageMs: number; timeoutMs: number }
  imsFaults: { imports: number; phaseMs: number; timeoutMs: number }
  cluster: { imports: number; timeoutMs: number }
}

export function loadChaosConfig(env: Record<string, string | undefined>): ChaosConfig {
  const long = (env.CHAOS ?? '').trim().toLowerCase() === 'long'
  const preflight = (env.CHAOS_PREFLIGHT ?? '').trim().toLowerCase() !== 'off'
  return long
    ? {
        long,
        preflight,
        workerKill: { imports: 5000, workers: 4, minKills: 40, timeoutMs: 20 * 60_000 },
        redisCrash: { imports: 3000, crashes: 3, timeoutMs: 10 * 60_000 },
        outage: { imports: 1500, outageMs: 10_000, timeoutMs: 10 * 60_000 },
        imsFaults: { imports: 1200, phaseMs: 4000, timeoutMs: 10 * 60_000 },
        cluster: { imports: 2000, timeoutMs: 10 * 60_000 },
      }
    : {
        long,
        preflight,
        workerKill: { imports: 500, workers: 4, minKills: 5, timeoutMs: 150_000 },
        redisCrash: { imports: 400, crashes: 1, timeoutMs: 120_000 },
        outage: { imports: 200, outageMs: 10_000, timeoutMs: 120_000 },
        imsFaults: { imports: 240, phaseMs: 3000, timeoutMs: 120_000 },
        cluster: { imports: 300, timeoutMs: 120_000 },
      }
}
