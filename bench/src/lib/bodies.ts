/**
 * A realistic quick-import body (system disk, ZVHD2 in OBS, tags), as callers send it to
 * POST /v1/imports and as the service sends it to IMS. `i` only varies the name and object key.
 */
export function quickImportBody(i: number): Record<string, unknown> {
  const n = String(i).padStart(6, '0')
  return {
    name: `bench-image-${n}`,
    description: 'Benchmark import of a migrated VM disk',
    image_url: `migration-bucket:wave-3/vm-${n}/disk-0.zvhd2`,
    os_version: 'Ubuntu 18.04 server 64bit',
    min_disk: 100,
    type: 'ECS',
    image_tags: [
      { key: 'wave', value: '3' },
      { key: 'source', value: 'vmware' },
    ],
  }
}
