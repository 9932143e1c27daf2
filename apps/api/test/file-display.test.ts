import type { FileInfo } from '@ims-importer/core'
import { describe, expect, it } from 'vitest'
import { DATA_DISK_EXAMPLE, PAGE_EXAMPLE, useTestApi } from './helpers.js'

// The image file as the worker's pre-flight writes it on the record (`file`), shown by the import
// view, the batch view (per item and the batch's bytes) and described in the OpenAPI document.
const api = useTestApi()
const GIB = 2 ** 30

const fileOf = (size_bytes: number): FileInfo => ({
  size_bytes,
  storage_class: 'STANDARD',
  region: 'eu-de',
  checked_at: new Date().toISOString(),
})

/** What the pre-flight does with a queued import: takes it to submitting with the file it found. */
const checked = (id: string, file: FileInfo) => api.deps.store.transition(id, 'submitting', { file })

async function postBatch(n: number) {
  const [tenant] = api.tenants
  const items = Array.from({ length: n }, (_, i) => ({ ...(i % 2 ? DATA_DISK_EXAMPLE : PAGE_EXAMPLE) }))
  const res = await api.post('/v1/batches', tenant, { items })
  expect(res.statusCode, res.body).toBe(202)
  return res.json() as { id: string; imports: { index: number; id: string }[] }
}

const get = async (url: string) => {
  const res = await api.app.inject({ url, headers: api.auth(api.tenants[0]) })
  expect(res.statusCode, res.body).toBe(200)
  return res.json()
}

describe('GET /v1/imports/{id} and the listing: file', () => {
  it('is null until the pre-flight wrote it, then shows it as written', async () => {
    const created = await api.post('/v1/imports', api.tenants[0], PAGE_EXAMPLE)
    expect(created.statusCode, created.body).toBe(202)
    const { id } = created.json()
    expect(created.json().file).toBeNull()
    expect((await get(`/v1/imports/${id}`)).file).toBeNull()

    const file = fileOf(Math.round(8.47 * GIB))
    await checked(id, file)
    expect((await get(`/v1/imports/${id}`)).file).toEqual(file)
    // The listing shows the same view.
    const listed = await get('/v1/imports?limit=500')
    expect(listed.items.find((i: { id: string }) => i.id === id)?.file).toEqual(file)
  })
})

describe('GET /v1/batches/{id}: file sizes', () => {
  it("shows each item's size, the page's bytes, and the batch's total when the page holds it all", async () => {
    const batch = await postBatch(4)
    const [s0, s1, s2] = [12 * GIB, 37 * GIB, 80 * GIB]
    const sizes = [s0, s1, s2]
    // Items 0..2 checked, item 3 not yet.
    for (const [i, size] of sizes.entries()) await checked(batch.imports[i]?.id as string, fileOf(size))

    const whole = await get(`/v1/batches/${batch.id}`)
    expect(whole.items.map((i: { file_size_bytes: number | null }) => i.file_size_bytes)).toEqual([
      ...sizes,
      null,
    ])
    const sum = sizes.reduce((a, b) => a + b, 0)
    expect(whole.bytes).toEqual({ page: sum, page_unknown: 1, total: sum })

    // A page of two: its own bytes; the batch's total is not known from it.
    const first = await get(`/v1/batches/${batch.id}?limit=2`)
    expect(first.bytes).toEqual({ page: s0 + s1, page_unknown: 0, total: null })
    const second = await get(`/v1/batches/${batch.id}?limit=2&cursor=${first.next_cursor}`)
    expect(second.bytes).toEqual({ page: s2, page_unknown: 1, total: null })
    // A status filter shows a part of the batch: no total either.
    const submitting = await get(`/v1/batches/${batch.id}?status=submitting`)
    expect(submitting.bytes).toEqual({ page: sum, page_unknown: 0, total: null })
  })

  it('says 0 bytes and every item unknown before any pre-flight', async () => {
    const batch = await postBatch(2)
    const view = await get(`/v1/batches/${batch.id}`)
    expect(view.bytes).toEqual({ page: 0, page_unknown: 2, total: 0 })
  })
})

describe('OpenAPI: file', () => {
  it('describes the import view file and the batch bytes', async () => {
    const doc = (await api.app.inject({ url: '/openapi.json' })).json()
    const schemas = doc.components.schemas
    expect(JSON.stringify(schemas.Import.properties.file)).toContain('ImageFile')
    expect(schemas.ImageFile.properties.size_bytes.description).toMatch(/bytes/)
    expect(schemas.ImageFile.description).toMatch(/pre-flight/)
    expect(schemas.Batch.properties.bytes).toBeDefined()
    expect(JSON.stringify(schemas.Batch)).toContain('file_size_bytes')
  })
})
