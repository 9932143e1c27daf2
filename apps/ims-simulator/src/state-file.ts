import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { z } from 'zod'
import type { ImageStoreSnapshot } from './image-store.js'

/*
 * The simulator's state file (option `stateFile`, env SIM_STATE_FILE): what IMS would still know
 * after the simulator restarts. IMS never forgets a job it accepted, so a restarted simulator keeps
 * its images and jobs rather than starting a new namespace: a fresh namespace would leave every
 * import the service is following pointing at a job nobody knows. Jobs advance by their
 * timestamps, so a reloaded job carries on where it was, or has ended meanwhile, on schedule.
 *
 * Kept: images (deleted ones too, their jobs still answer), jobs, the image sequence, the PRNG's
 * position (a seeded simulator does not hand out the same job ids again), the create counters.
 * Not kept: tokens (the client takes a new one on 401), the request log and request counters, rate
 * windows, and settings (options and control-API changes: they come from the environment again).
 */

/** Changes reach the file at most this long after they happen (and at once on close). */
export const STATE_WRITE_DELAY_MS = 200

export interface CreateCounts {
  byMarker: Record<string, number>
  byName: Record<string, number>
  total: number
  peak: number
  refusedForQuota: number
}

export interface SimulatorState {
  version: 1
  savedAt: string
  rngState: number
  store: ImageStoreSnapshot
  /** The last `sim-existing-N` image's N. */
  existingSeq: number
  creates: CreateCounts
}

const count = z.number().int().min(0)
const Job = z.looseObject({
  id: z.string().min(1),
  imageId: z.string().min(1),
  jobType: z.enum(['imsImportImageJob', 'imsImportDataImageJob']),
  beginAt: z.number(),
  runningAt: z.number(),
  endAt: z.number(),
  failCode: z.string().nullable(),
  marker: z.string().optional(),
})
const Image = z.looseObject({
  id: z.string().min(1),
  seq: count,
  createdAtMs: z.number(),
  fileSizeBytes: z.number().nullable(),
  // The accepted body as the quick-import route built it; the fields the routes read are checked.
  request: z.looseObject({
    name: z.string(),
    variant: z.string(),
    objectKey: z.string(),
    tags: z.array(z.looseObject({ key: z.string(), value: z.string() })),
  }),
  job: Job,
})
const StateFileBody = z
  .object({
    version: z.literal(1),
    savedAt: z.string(),
    rngState: z.number().int(),
    store: z.object({ seq: count, images: z.array(Image), heldImageIds: z.array(z.string()) }),
    existingSeq: count,
    creates: z.object({
      byMarker: z.record(z.string(), count),
      byName: z.record(z.string(), count),
      total: count,
      peak: count,
      refusedForQuota: count,
    }),
  })
  .refine((s) => s.store.images.every((image) => image.job.imageId === image.id), {
    message: 'a job names another image than its own',
  })
  .refine(
    (s) => {
      const ids = new Set(s.store.images.map((image) => image.id))
      return s.store.heldImageIds.every((id) => ids.has(id))
    },
    { message: 'a held image is not among the images' },
  )

export type StateLoad =
  | { kind: 'missing'; path: string }
  | { kind: 'loaded'; path: string; state: SimulatorState }
  /** Not JSON, not a state, or not readable: moved aside (movedTo) when possible, never fatal. */
  | { kind: 'unreadable'; path: string; reason: string; movedTo: string | null }

/** Reads the state file; a missing or unreadable one means starting empty (see StateLoad). */
export function loadStateFile(path: string, now: number = Date.now()): StateLoad {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing', path }
    return moveAside(path, `cannot read it: ${(err as Error).message}`, now)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    return moveAside(path, `not JSON: ${(err as Error).message}`, now)
  }
  const parsed = StateFileBody.safeParse(json)
  if (!parsed.success) {
    const first = parsed.error.issues[0]
    return moveAside(
      path,
      `not a simulator state: ${first?.path.join('.') || '(root)'}: ${first?.message}`,
      now,
    )
  }
  // The schema checks what the routes read; the rest of each image is the route's own output.
  return { kind: 'loaded', path, state: parsed.data as unknown as SimulatorState }
}

function moveAside(path: string, reason: string, now: number): StateLoad {
  const movedTo = `${path}.unreadable-${new Date(now).toISOString().replace(/[:.]/g, '-')}`
  try {
    renameSync(path, movedTo)
    return { kind: 'unreadable', path, reason, movedTo }
  } catch {
    return { kind: 'unreadable', path, reason, movedTo: null }
  }
}

/** The one log line a load gives (no secrets: the file holds none that is printed). */
export function describeStateLoad(load: StateLoad, now: number = Date.now()): string {
  switch (load.kind) {
    case 'missing':
      return `ims-simulator state: no state file at ${load.path}; starting empty`
    case 'loaded': {
      const { images, heldImageIds } = load.state.store
      const open = images.filter((image) => now < image.job.endAt).length
      return (
        `ims-simulator state: loaded ${images.length} jobs (${open} not ended yet) and ` +
        `${heldImageIds.length} images from ${load.path}, saved ${load.state.savedAt}`
      )
    }
    case 'unreadable':
      return (
        `ims-simulator state: ${load.path} is unreadable (${load.reason}); ` +
        (load.movedTo
          ? `moved it aside to ${load.movedTo}`
          : 'could not move it aside, it will be overwritten') +
        '; starting empty'
      )
  }
}

export interface StateWriter {
  /** Something changed: the file is rewritten within STATE_WRITE_DELAY_MS. */
  changed(): void
  /** Writes now (close). Later changes are not written. */
  close(): void
}

/**
 * Writes `snapshot()` to `path` atomically (a temporary file in the same directory, then a
 * rename): a crash mid-write leaves the previous state whole. Changes within STATE_WRITE_DELAY_MS
 * of each other share one write. A failed write is logged once per run of failures, not thrown.
 */
export function createStateWriter(
  path: string,
  snapshot: () => SimulatorState,
  log: (line: string) => void,
  delayMs: number = STATE_WRITE_DELAY_MS,
): StateWriter {
  let timer: NodeJS.Timeout | null = null
  let closed = false
  let failing = false
  const tmp = `${path}.${process.pid}.tmp`

  const write = () => {
    timer = null
    try {
      mkdirSync(dirname(path), { recursive: true })
      writeFileSync(tmp, JSON.stringify(snapshot()))
      renameSync(tmp, path)
      failing = false
    } catch (err) {
      if (!failing) log(`ims-simulator state: cannot write ${path} (${(err as Error).message})`)
      failing = true
    }
  }

  return {
    changed() {
      if (closed || timer !== null) return
      timer = setTimeout(write, delayMs)
      // Never what keeps the process alive: close() writes whatever is pending.
      timer.unref()
    },
    close() {
      if (closed) return
      closed = true
      if (timer !== null) clearTimeout(timer)
      write()
    },
  }
}
