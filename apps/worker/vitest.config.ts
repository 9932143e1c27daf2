import { defineConfig } from 'vitest/config'
import { testDefaults } from '../../vitest.shared.js'

export default defineConfig({
  test: {
    ...testDefaults,
    // One file at a time: the callback and reconcile queues are shared by every target (so a
    // worker of one file could take another file's jobs), and the end-to-end files measure
    // rates and caps that a parallel file's CPU load would disturb on a 2-core machine.
    fileParallelism: false,
  },
})
