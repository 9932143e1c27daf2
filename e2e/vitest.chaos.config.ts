import { defineConfig } from 'vitest/config'

// `pnpm test:chaos` (CHAOS=long): the long versions of the crash and outage scenarios only,
// one file at a time, and the results table printed and written to chaos-results.md at the end.
export default defineConfig({
  test: {
    globalSetup: ['../packages/core/src/testing/global-setup.ts', './src/chaos/results-setup.ts'],
    include: ['test/chaos/**/*.test.ts'],
    reporters: ['default'],
    testTimeout: 30 * 60_000,
    hookTimeout: 5 * 60_000,
    fileParallelism: false,
  },
})
