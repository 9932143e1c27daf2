import { ConfigError } from '@ims-importer/core'
import { describe, expect, it } from 'vitest'
import { defaultApiConfig, loadApiConfig } from '../src/config.js'

describe('ApiConfig', () => {
  it('reads the key namespace and the callback retries from the environment', () => {
    const config = loadApiConfig({
      REDIS_KEY_PREFIX: '{other}',
      CALLBACK_ATTEMPTS: '3',
      CALLBACK_RETRY_BASE_MS: '500',
    })
    expect(config.keyPrefix).toBe('{other}')
    expect(config.callbackRetry).toEqual({ attempts: 3, retryBaseMs: 500 })
    expect(loadApiConfig({}).keyPrefix).toBe('{ims}')
    expect(() => loadApiConfig({ REDIS_KEY_PREFIX: 'ims' })).toThrow(ConfigError)
  })

  it('merges overrides into the defaults, nested objects field by field', () => {
    const config = defaultApiConfig({
      redisUrl: 'redis://127.0.0.1:1',
      callbackPolicy: { allowPrivate: true },
      callbackRetry: { attempts: 2 },
      targets: ['x'],
    })
    expect(config.redisUrl).toBe('redis://127.0.0.1:1')
    expect(config.callbackPolicy).toEqual({ allowPrivate: true, allowHttpLoopback: false })
    expect(config.callbackRetry).toEqual({ attempts: 2, retryBaseMs: 10_000 })
    expect(config.targets).toEqual(['x'])
    expect(config.rateLimitPerMinute).toBe(600)
  })
})
