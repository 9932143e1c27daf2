import { MARKER_TAG_KEY } from '../keys.js'
import type { QuickImportRequest } from './schema.js'
import { isTagValue, splitTag } from './tags.js'

/**
 * Adds the marker tag (key MARKER_TAG_KEY, value = import id) in whichever form the caller
 * used: "key.value" in `tags`, or {key, value} in `image_tags`; `image_tags` when the caller
 * used neither. Pure; a marker tag already there is replaced, so adding it twice is harmless.
 */
export function withMarkerTag(request: QuickImportRequest, importId: string): QuickImportRequest {
  if (importId.length === 0 || !isTagValue(importId)) {
    throw new Error(`import id ${JSON.stringify(importId)} cannot be an IMS tag value`)
  }
  if (request.tags !== undefined) {
    const tags = request.tags.filter((t) => splitTag(t)?.key !== MARKER_TAG_KEY)
    return { ...request, tags: [...tags, `${MARKER_TAG_KEY}.${importId}`] }
  }
  const imageTags = (request.image_tags ?? []).filter((t) => t.key.trim() !== MARKER_TAG_KEY)
  return { ...request, image_tags: [...imageTags, { key: MARKER_TAG_KEY, value: importId }] }
}
