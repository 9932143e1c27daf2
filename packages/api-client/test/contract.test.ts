import {
  FINAL_STATUSES as CORE_FINAL,
  ExpectedFinish as CoreExpectedFinish,
  FileInfo as CoreFileInfo,
  ImportStatus as CoreImportStatus,
} from '@ims-importer/core'
import { describe, expect, it } from 'vitest'
import {
  BatchView,
  ExpectedFinish,
  FINAL_STATUSES,
  IMPORT_STATUSES,
  ImageFile,
  ImportView,
} from '../src/index.js'

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

  it("reads the service's file (the pre-flight's): the same fields, on imports and batch items", () => {
    expect(Object.keys(ImageFile.shape).sort()).toEqual(Object.keys(CoreFileInfo.shape).sort())
    const file = {
      size_bytes: 9094299648,
      storage_class: 'STANDARD',
      region: 'eu-de',
      checked_at: '2026-12-06T14:00:00Z',
    }
    const view = {
      id: 'imp_1',
      status: 'running',
      target: 't',
      external_id: null,
      batch_id: null,
      created_at: 'x',
    }
    expect(ImportView.parse({ ...view, file }).file).toEqual(file)
    expect(ImportView.parse({ ...view, file: null }).file).toBeNull()
    // An API older than the field answers without it.
    expect(ImportView.parse(view).file).toBeUndefined()
    const batch = {
      id: 'bat_1',
      external_id: null,
      created_at: 'x',
      accepted: 1,
      rejected: [],
      counts: { running: 1 },
      items: [
        {
          index: 0,
          id: 'imp_1',
          status: 'running',
          target: 't',
          external_id: null,
          image_id: null,
          file_size_bytes: 9094299648,
        },
      ],
      next_cursor: null,
    }
    const parsed = BatchView.parse({
      ...batch,
      bytes: { page: 9094299648, page_unknown: 0, total: 9094299648 },
    })
    expect(parsed.items[0]?.file_size_bytes).toBe(9094299648)
    expect(parsed.bytes?.total).toBe(9094299648)
    expect(BatchView.parse(batch).bytes).toBeUndefined()
  })
})
