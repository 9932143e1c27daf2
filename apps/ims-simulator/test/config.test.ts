import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadSimulatorConfig } from '../src/config.js'

describe('loadSimulatorConfig', () => {
  it('defaults to 127.0.0.1:4600', () => {
    expect(loadSimulatorConfig({})).toMatchObject({ port: 4600, host: '127.0.0.1' })
  })

  it('reads speeds, limits, rate limits and faults', () => {
    const options = loadSimulatorConfig({
      SIM_PORT: '4700',
      SIM_INIT_MS: '50',
      SIM_JOB_MIN_MS: '100',
      SIM_JOB_MAX_MS: '200',
      SIM_MAX_CONCURRENT_IMPORTS: '5',
      SIM_RATE_QUICK_IMPORT: '10/1000',
      SIM_ERROR_RATE: '0.1',
      SIM_FAULT_OPERATIONS: 'quickImport,getJob',
      SIM_SEED: '3',
      SIM_LOG: 'false',
    })
    expect(options).toMatchObject({
      port: 4700,
      initMs: 50,
      jobDurationMs: { min: 100, max: 200 },
      maxConcurrentImports: 5,
      rateLimits: { quickImport: { limit: 10, windowMs: 1000 } },
      faults: { errorRate: 0.1, operations: ['quickImport', 'getJob'] },
      seed: 3,
      logger: false,
    })
  })

  it('reads the cloud, region, IAM catalog, quota, OBS seed file and judging settings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-config-'))
    const seedFile = join(dir, 'obs.json')
    writeFileSync(
      seedFile,
      JSON.stringify({ buckets: [{ name: 'demo-images', objects: [{ key: 'a.zvhd2', size: 5 }] }] }),
    )
    const options = loadSimulatorConfig({
      SIM_CLOUD: 'hwc',
      SIM_REGION: 'eu-nl',
      SIM_IAM_CATALOG: 'faithful',
      SIM_IMAGE_QUOTA: '50',
      SIM_EXISTING_IMAGES: '3',
      SIM_RATE_GET_QUOTA: '2/1000',
      SIM_OBS_SEED_FILE: seedFile,
      SIM_OBS_JUDGING: 'true',
      SIM_OBS_LATENCY_MS: '7',
      SIM_IMPORT_BYTES_PER_SECOND: '1048576',
    })
    expect(options).toMatchObject({
      cloud: 'hwc',
      region: 'eu-nl',
      iamCatalog: 'faithful',
      imageQuota: 50,
      existingImages: 3,
      rateLimits: { getQuota: { limit: 2, windowMs: 1000 } },
      obs: { buckets: [{ name: 'demo-images', objects: [{ key: 'a.zvhd2', size: 5 }] }] },
      obsJudging: true,
      obsLatencyMs: 7,
      importBytesPerSecond: 1048576,
    })
    writeFileSync(seedFile, JSON.stringify({ buckets: [{ name: 'x' }] }))
    expect(() => loadSimulatorConfig({ SIM_OBS_SEED_FILE: seedFile })).toThrow(/SIM_OBS_SEED_FILE/)
    expect(() => loadSimulatorConfig({ SIM_OBS_SEED_FILE: join(dir, 'missing.json') })).toThrow(
      /SIM_OBS_SEED_FILE unreadable/,
    )
    expect(() => loadSimulatorConfig({ SIM_CLOUD: 'aws' })).toThrow(/SIM_CLOUD/)
  })

  it('names the variable, never the value, when something is wrong', () => {
    expect(() => loadSimulatorConfig({ SIM_ERROR_RATE: '7' })).toThrow(/SIM_ERROR_RATE/)
    expect(() => loadSimulatorConfig({ SIM_AK: 'AK-ONLY-SECRET' })).toThrow(/SIM_AK and SIM_SK/)
    try {
      loadSimulatorConfig({ SIM_AK: 'AK-ONLY-SECRET' })
    } catch (err) {
      expect(String(err)).not.toContain('AK-ONLY-SECRET')
    }
  })
})
