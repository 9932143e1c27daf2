import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    globalSetup: ['../packages/core/src/testing/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest/report.json' },
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
})
