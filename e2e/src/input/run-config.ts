/**
 * How big the bad-input and hostile-caller runs are. The default `pnpm test` run is short; the
 * `test:chaos` script sets CHAOS=long for the long run whose figures go into the README. The one
 * place these suites read the environment (tests call it with process.env).
 */
export interface InputRunConfig {
  /** CHAOS=long. */
  long: boolean
  /** Generated bodies sent as batch items (POST /v1/batches). */
  batchBodies: number
  /** Items per batch request. */
  batchSize: number
  /** Generated bodies sent one by one (POST /v1/imports). */
  directBodies: number
  /** Direct POSTs in flight at once. */
  directConcurrency: number
  /** fast-check seed (FC_SEED) to replay a run; random when unset. */
  seed: number
}

export function loadInputRunConfig(env: Record<string, string | undefined>): InputRunConfig {
  const long = env.CHAOS === 'long'
  const seedText = env.FC_SEED
  const seed = seedText !== undefined && /^-?\d+$/.test(seedText) ? Number(seedText) : Date.now() ^ 0x5eed
  return {
    long,
    batchBodies: long ? 90_000 : 8_000,
    batchSize: 250,
    directBodies: long ? 10_000 : 2_500,
    directConcurrency: 25,
    seed: seed | 0,
  }
}
