/**
 * The example requests of the IMS API page "Importing an Image File Quickly"
 * (reference/quickimport-api-page.html), verbatim: the file is `ims-image:centos70.zvhd2`.
 * Used as the schemas' OpenAPI examples, by `pnpm demo` and as test data.
 */
const common = {
  name: 'ims_test_file',
  description: 'Create an image using a file in the OBS bucket.',
  image_url: 'ims-image:centos70.zvhd2',
  min_disk: 40,
} as const
const tags = ['aaa.111', 'bbb.333', 'ccc.444']
const imageTags = [
  { key: 'key2', value: 'value2' },
  { key: 'key1', value: 'value1' },
]
const system = { ...common, os_version: 'CentOS 7.0 64bit', type: 'ECS' } as const
const data = { ...common, os_type: 'Linux', type: 'DataImage' } as const

export const PAGE_EXAMPLES = {
  systemWithTags: { ...system, tags },
  systemWithImageTags: { ...system, image_tags: imageTags },
  dataWithTags: { ...data, tags },
  dataWithImageTags: { ...data, image_tags: imageTags },
} as const

/** A title for each example, as `pnpm demo` prints them. */
export const PAGE_EXAMPLE_TITLES: Record<keyof typeof PAGE_EXAMPLES, string> = {
  systemWithTags: 'system disk image with tags',
  systemWithImageTags: 'system disk image with image_tags',
  dataWithTags: 'data disk image with tags',
  dataWithImageTags: 'data disk image with image_tags',
}
