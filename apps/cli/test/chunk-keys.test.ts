import { describe, expect, it } from 'vitest'
import { chunk, chunkKey, contentHash } from '../src/chunk-keys.js'

describe('chunk keys', () => {
  const hash = contentHash('{"name":"a"}\n{"name":"b"}\n')
  const params = { chunkSize: 500 }

  it('are the same for the same file, options and index (a rerun replays)', () => {
    expect(chunkKey(hash, params, 3)).toBe(
      chunkKey(contentHash('{"name":"a"}\n{"name":"b"}\n'), { chunkSize: 500 }, 3),
    )
    expect(chunkKey(hash, params, 0)).toMatch(/^ims-importer-cli-[0-9a-f]{32}-0$/)
  })

  it('differ by index, by file content and by the options that shape the chunk bodies', () => {
    const keys = new Set([
      chunkKey(hash, params, 0),
      chunkKey(hash, params, 1),
      chunkKey(contentHash('{"name":"a"}\n'), params, 0),
      chunkKey(hash, { chunkSize: 100 }, 0),
      chunkKey(hash, { chunkSize: 500, target: 'eu-de' }, 0),
      chunkKey(hash, { chunkSize: 500, externalId: 'run-1' }, 0),
    ])
    expect(keys.size).toBe(6)
  })

  it('fit the API limit on idempotency keys', () => {
    expect(chunkKey(hash, { chunkSize: 1, target: 'x'.repeat(200) }, 999_999).length).toBeLessThan(255)
  })
})

describe('chunk', () => {
  it('splits in order with a shorter last chunk', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]])
    expect(chunk([], 3)).toEqual([])
    expect(() => chunk([1], 0)).toThrow(RangeError)
  })
})
