import { join } from 'node:path'

/**
 * Test settings every package shares: the one real-Redis global setup (core's), a JSON report
 * per package for `scripts/test-summary.mjs`, timeouts sized for real Redis and processes, and
 * files in parallel.
 */
export const testDefaults = {
  globalSetup: [join(import.meta.dirname, 'packages/core/src/testing/global-setup.ts')],
  include: ['test/**/*.test.ts'],
  reporters: ['default', 'json'],
  outputFile: { json: '.vitest/report.json' },
  testTimeout: 20_000,
  hookTimeout: 30_000,
  // Files run in parallel, each in its own namespace (testKeys). Vitest's default is one fork
  // per core less one, which is one fork on a 2-core machine: most files wait on Redis, child
  // processes and timers rather than the CPU, so three run side by side.
  maxWorkers: 3,
  // A fork keeps its modules from one file to the next (no file relies on a fresh module
  // state): importing Fastify, BullMQ and zod again for every file cost about half of a
  // package's CPU. The pool stays at full size: tinypool ending an idle fork that keeps its
  // modules is reported as an unhandled "Terminating worker thread".
  isolate: false,
  minWorkers: 3,
}
