import { defineConfig } from 'vitest/config'
import { testDefaults } from '../vitest.shared.js'

export default defineConfig({
  test: {
    ...testDefaults,
    // Suites start real processes (API, workers, simulators, redis-servers): longer timeouts.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Files run side by side, each in its own Redis namespace (testKeys; chaos stacks their own).
    // Two at a time on this 2-core machine: a chaos file's stack (API + 2 to 4 workers) keeps a
    // core busy, and a third one slows every stack enough to stretch the timing-bound checks.
    maxWorkers: 2,
    minWorkers: 2,
  },
})
