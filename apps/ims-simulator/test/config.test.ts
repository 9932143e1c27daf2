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
