import { FINAL_STATUSES as CORE_FINAL, ImportStatus as CoreImportStatus } from '@ims-importer/core'
import { describe, expect, it } from 'vitest'
import { FINAL_STATUSES, IMPORT_STATUSES } from '../src/index.js'

// The client keeps its own copy of the wire enums so it does not pull core (BullMQ, ioredis) into
// every Node tool that uses it; this test catches the day the two drift apart.
describe('wire contract', () => {
  it('knows the same import statuses and final statuses as the service', () => {
    expect(IMPORT_STATUSES).toEqual(CoreImportStatus.options)
    expect([...FINAL_STATUSES].sort()).toEqual([...CORE_FINAL].sort())
  })
})
