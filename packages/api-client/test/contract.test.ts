import {
  FINAL_STATUSES as CORE_FINAL,
  ExpectedFinish as CoreExpectedFinish,
  ImportStatus as CoreImportStatus,
} from '@ims-importer/core'
import { describe, expect, it } from 'vitest'
import { ExpectedFinish, FINAL_STATUSES, IMPORT_STATUSES } from '../src/index.js'

// The client keeps its own copy of the wire enums so it does not pull core (BullMQ, ioredis) into
// every Node tool that uses it; this test catches the day the two drift apart.
describe('wire contract', () => {
  it('knows the same import statuses and final statuses as the service', () => {
    expect(IMPORT_STATUSES).toEqual(CoreImportStatus.options)
    expect([...FINAL_STATUSES].sort()).toEqual([...CORE_FINAL].sort())
  })

  it("reads the service's expected_finish: the same fields and bases", () => {
    expect(Object.keys(ExpectedFinish.shape).sort()).toEqual(Object.keys(CoreExpectedFinish.shape).sort())
    expect(ExpectedFinish.shape.basis.options).toEqual(CoreExpectedFinish.shape.basis.options)
  })
})
