import { describe, expect, it } from 'vitest'
import {
  MARKER_TAG_KEY,
  MAX_CALLER_TAGS,
  newId,
  type QuickImportRequest,
  withMarkerTag,
} from '../src/index.js'
import { DATA_BODY, SYSTEM_BODY } from './fixtures/invalid-bodies.js'

const importId = newId('imp')

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}

describe('withMarkerTag', () => {
  it('adds a "key.value" tag when the caller used tags', () => {
    const request = deepFreeze({ ...SYSTEM_BODY, tags: ['aaa.111', 'bbb.'] })
    expect(withMarkerTag(request, importId)).toEqual({
      ...SYSTEM_BODY,
      tags: ['aaa.111', 'bbb.', `${MARKER_TAG_KEY}.${importId}`],
    })
  })

  it('adds a {key, value} tag when the caller used image_tags', () => {
    const request = deepFreeze({ ...DATA_BODY, image_tags: [{ key: 'key1', value: 'value1' }] })
    expect(withMarkerTag(request, importId)).toEqual({
      ...DATA_BODY,
      image_tags: [
        { key: 'key1', value: 'value1' },
        { key: MARKER_TAG_KEY, value: importId },
      ],
    })
  })

  it('adds image_tags when the caller sent no tags, and keeps tags when the list was empty', () => {
    expect(withMarkerTag(SYSTEM_BODY, importId)).toEqual({
      ...SYSTEM_BODY,
      image_tags: [{ key: MARKER_TAG_KEY, value: importId }],
    })
    expect(withMarkerTag({ ...SYSTEM_BODY, tags: [] }, importId)).toEqual({
      ...SYSTEM_BODY,
      tags: [`${MARKER_TAG_KEY}.${importId}`],
    })
  })

  it('leaves the request it was given untouched and keeps its field order', () => {
    const request: QuickImportRequest = { ...SYSTEM_BODY, tags: ['aaa.111'], type: 'ECS' }
    const before = JSON.stringify(request)
    const marked = withMarkerTag(request, importId)
    expect(JSON.stringify(request)).toBe(before)
    expect(Object.keys(marked)).toEqual(Object.keys(request))
  })

  it('adding the marker twice leaves one marker tag, with the latest id', () => {
    const other = newId('imp')
    const twice = withMarkerTag(withMarkerTag({ ...SYSTEM_BODY, tags: ['aaa.111'] }, importId), other)
    expect(twice.tags).toEqual(['aaa.111', `${MARKER_TAG_KEY}.${other}`])
    const twiceObjects = withMarkerTag(withMarkerTag(DATA_BODY, importId), other)
    expect(twiceObjects.image_tags).toEqual([{ key: MARKER_TAG_KEY, value: other }])
  })

  it('with the most tags a caller may send, the image gets the 10 IMS allows', () => {
    const tags = Array.from({ length: MAX_CALLER_TAGS }, (_, i) => `k${i}.v`)
    expect(withMarkerTag({ ...SYSTEM_BODY, tags }, importId).tags).toHaveLength(10)
  })

  it('refuses an id that cannot be a tag value', () => {
    expect(() => withMarkerTag(SYSTEM_BODY, 'imp:1')).toThrow(/tag value/)
    expect(() => withMarkerTag(SYSTEM_BODY, '')).toThrow(/tag value/)
    expect(() => withMarkerTag(SYSTEM_BODY, 'x'.repeat(44))).toThrow(/tag value/)
  })
})
