import { MARKER_TAG_KEY } from '@ims-importer/core'
import type { ImsClient, ImsImage } from '@ims-importer/ims-client'

/** The tag query that finds the image of one import (`GET /v2/cloudimages?tag=key=value`). */
export const markerTagQuery = (importId: string) => `${MARKER_TAG_KEY}=${importId}`

/**
 * The image created for an import, found by its marker tag, or null. Prefers an image that is
 * not deleted; a deleted one still proves the create happened (it is followed, and fails).
 */
export async function findImageByMarker(client: ImsClient, importId: string): Promise<ImsImage | null> {
  const { images } = await client.listImages({ tag: markerTagQuery(importId), limit: 10 })
  const mine = images.filter(
    (img) =>
      img.tags.length === 0 || img.tags.some((t) => t.includes(MARKER_TAG_KEY) && t.includes(importId)),
  )
  return mine.find((img) => img.status !== 'deleted') ?? mine[0] ?? null
}
