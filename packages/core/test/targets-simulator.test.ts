import { describe, expect, it } from 'vitest'
import { loadTargets, SIMULATOR_DEFAULTS } from '../src/targets.js'

describe('the default simulator target', () => {
  it('has OBS access on the simulator, in its region, so the pre-flight is on', () => {
    const [target] = loadTargets({ IMS_SIMULATOR_URL: 'http://127.0.0.1:14600' })
    expect(target?.name).toBe('simulator')
    expect(target?.region).toBe('eu-de')
    expect(target?.obs).toEqual({
      endpoint: 'http://127.0.0.1:14600',
      auth: { ak: SIMULATOR_DEFAULTS.obsAk, sk: SIMULATOR_DEFAULTS.obsSk },
    })
    // Not set: the default (enforce when the target has obs) applies.
    expect(target?.preflight).toBeUndefined()
  })

  it('keeps a targets file as given (no OBS unless it says so)', () => {
    const [target] = loadTargets({
      IMS_ENDPOINT: 'https://ims.example',
      IAM_ENDPOINT: 'https://iam.example/v3',
      IMS_PROJECT_ID: 'p',
      IMS_AUTH: 'aksk',
      IMS_AK: 'ak',
      IMS_SK: 'sk',
    })
    expect(target?.obs).toBeUndefined()
  })
})
