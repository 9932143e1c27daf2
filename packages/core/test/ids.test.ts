import { describe, expect, it } from 'vitest'
import { ID_PATTERN, newId } from '../src/ids.js'

describe('newId', () => {
  it('ids made one after another sort in that order, also within one millisecond', () => {
    const now = Date.now()
    const ids = Array.from({ length: 1000 }, (_, i) => newId('imp', now + Math.floor(i / 300)))
    expect(new Set(ids).size).toBe(ids.length)
    expect([...ids].sort()).toEqual(ids)
    for (const id of ids) expect(id).toMatch(ID_PATTERN)
  })

  it('a new millisecond draws a new random part', () => {
    const a = newId('imp', 1_000_000)
    const b = newId('imp', 1_000_001)
    expect(a.slice(14)).not.toBe(b.slice(14))
  })
})
