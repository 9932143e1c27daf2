import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    globalSetup: ['../../packages/core/src/testing/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest/report.json' },
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // One file at a time: the callback and reconcile queues are shared by every target (so a
    // worker of one file could take another file's jobs), and the end-to-end files measure
    // rates and caps that a parallel file's CPU load would disturb on a 2-core machine.
    fileParallelism: false,
  },
})
