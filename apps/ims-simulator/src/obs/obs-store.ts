/** OBS storage classes as OBS names them (the S3-compatible API says STANDARD_IA / GLACIER). */
export const STORAGE_CLASSES = ['STANDARD', 'WARM', 'COLD', 'DEEP_ARCHIVE'] as const
export type StorageClass = (typeof STORAGE_CLASSES)[number]

export interface ObsObjectSeed {
  key: string
  /** Bytes. */
  size: number
  /** Default: the bucket's class. */
  storageClass?: StorageClass
}

export interface ObsBucketSeed {
  name: string
  /** Default: the simulator's region. */
  region?: string
  /** Default STANDARD. */
  storageClass?: StorageClass
  objects?: ObsObjectSeed[]
}

/** Buckets and objects the simulator's OBS holds: from the `obs` option or seed file, and the control API. */
export interface ObsSeed {
  buckets: ObsBucketSeed[]
}

export interface ObsObject {
  key: string
  size: number
  storageClass: StorageClass
  lastModifiedMs: number
  etag: string
}

export interface ObsBucket {
  name: string
  region: string
  storageClass: StorageClass
  objects: Map<string, ObsObject>
}

/** Metadata only: objects have a size, never content. */
export interface ObsStore {
  bucket(name: string): ObsBucket | undefined
  bucketNames(): string[]
  putBucket(seed: ObsBucketSeed): void
  putObject(bucket: string, seed: ObsObjectSeed): boolean
  deleteObject(bucket: string, key: string): boolean
  deleteBucket(name: string): boolean
  /** Back to the seed given at start. */
  reset(): void
  snapshot(): ObsSeed
}

export function createObsStore(seed: ObsSeed | undefined, defaultRegion: string): ObsStore {
  const buckets = new Map<string, ObsBucket>()
  const etagOf = (bucket: string, key: string, size: number) =>
    `"${Buffer.from(`${bucket}/${key}/${size}`).toString('hex').slice(0, 32).padEnd(32, '0')}"`

  const store: ObsStore = {
    bucket: (name) => buckets.get(name),
    bucketNames: () => [...buckets.keys()],
    putBucket(b) {
      const existing = buckets.get(b.name)
      const bucket: ObsBucket = {
        name: b.name,
        region: b.region ?? existing?.region ?? defaultRegion,
        storageClass: b.storageClass ?? existing?.storageClass ?? 'STANDARD',
        objects: existing?.objects ?? new Map(),
      }
      buckets.set(b.name, bucket)
      for (const object of b.objects ?? []) store.putObject(b.name, object)
    },
    putObject(bucketName, o) {
      const bucket = buckets.get(bucketName)
      if (!bucket) return false
      bucket.objects.set(o.key, {
        key: o.key,
        size: o.size,
        storageClass: o.storageClass ?? bucket.storageClass,
        lastModifiedMs: Date.now(),
        etag: etagOf(bucketName, o.key, o.size),
      })
      return true
    },
    deleteObject: (bucket, key) => buckets.get(bucket)?.objects.delete(key) ?? false,
    deleteBucket: (name) => buckets.delete(name),
    reset() {
      buckets.clear()
      for (const b of seed?.buckets ?? []) store.putBucket(b)
    },
    snapshot: () => ({
      buckets: [...buckets.values()].map((b) => ({
        name: b.name,
        region: b.region,
        storageClass: b.storageClass,
        objects: [...b.objects.values()].map((o) => ({
          key: o.key,
          size: o.size,
          storageClass: o.storageClass,
        })),
      })),
    }),
  }
  store.reset()
  return store
}
