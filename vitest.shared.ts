import { join } from 'node:path'

/**
 * Test settings every package shares: the one real-Redis global setup (core's), a JSON report
 * per package for `scripts/test-summary.mjs`, and timeouts sized for real Redis and processes.
 */
export const testDefaults = {
  globalSetup: [join(import.meta.dirname, 'packages/core/src/testing/global-setup.ts')],
  include: ['test/**/*.test.ts'],
  reporters: ['default', 'json'],
  outputFile: { json: '.vitest/report.json' },
  testTimeout: 20_000,
  hookTimeout: 30_000,
}
