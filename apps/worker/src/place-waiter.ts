import type { Logger, Redis } from '@ims-importer/core'
import { type Inflight, parseFreed } from './inflight.js'

// Where a submission that found its target's in-flight cap full waits in process for a freed
// place: woken by this process's releases, by other processes' announcements on the target's
// channel, or by a periodic re-check; one waiter per freed place, oldest first.
// Why (and why at most `maxWaiters` per target): docs/inflight.md

export type PlaceOutcome = 'taken' | 'full' | 'closing'

export interface PlaceWaiter {
  /**
   * Takes a place of `target` for `importId`, waiting up to `maxWaitMs` for one to free.
   * 'full': none came in time (or enough submissions wait already); 'closing': the worker stops.
   */
  take(target: string, importId: string, cap: number, maxWaitMs: number): Promise<PlaceOutcome>
  /** Submissions of `target` waiting in this process. */
  waiting(target: string): number
  /** Ends every wait ('closing') and closes the subscriber connection. */
  close(): Promise<void>
}

export interface PlaceWaiterOptions {
  inflight: Inflight
  targets: string[]
  /** A connection of its own, put in subscriber mode; without it only this process's releases and the re-check wake waiters. */
  subscriber?: Redis
  /** Most waiters per target in this process. */
  maxWaiters: number
  /** A waiter looks again this often without any announcement (ms, jittered). */
  recheckMs: number
  log: Logger
}

interface Waiter {
  /** A freed place was addressed to it since its last attempt began. */
  woken: boolean
  /** Set only while it sleeps (until woken or its re-check is due): ends the sleep. */
  wake?: () => void
}

export function createPlaceWaiter(o: PlaceWaiterOptions): PlaceWaiter {
  const lines = new Map<string, Waiter[]>(o.targets.map((t) => [t, []]))
  let closed = false

  /** A place of `target` was freed: the oldest sleeping waiter tries, else the oldest trying one tries again. */
  const wakeOne = (target: string) => {
    const line = lines.get(target)
    if (!line) return
    const w = line.find((x) => x.wake && !x.woken) ?? line.find((x) => !x.woken)
    if (!w) return
    w.woken = true
    w.wake?.()
  }
  const wake = (target: string, count: number) => {
    for (let i = 0; i < count; i++) wakeOne(target)
  }

  const offLocal = o.inflight.onFreed(wake)
  const byChannel = new Map(o.targets.map((t) => [o.inflight.freedChannel(t), t]))
  const sub = o.subscriber
  sub?.on('error', (err) => o.log.warn({ err }, 'place announcements: redis error'))
  if (sub && byChannel.size > 0) {
    sub.on('message', (channel: string, message: string) => {
      const target = byChannel.get(channel)
      if (target === undefined) return
      const { count, by } = parseFreed(message)
      // This process's own releases were announced locally already.
      if (by !== o.inflight.id) wake(target, count)
    })
    sub.subscribe(...byChannel.keys()).catch((err) => {
      if (!closed) o.log.error({ err }, 'place announcements: subscribe failed; waiters rely on the re-check')
    })
  }

  const take = async (
    target: string,
    importId: string,
    cap: number,
    maxWaitMs: number,
  ): Promise<PlaceOutcome> => {
    const line = lines.get(target)
    if (closed || !line || line.length >= o.maxWaiters || maxWaitMs <= 0)
      return (await o.inflight.take(target, importId, cap)) >= 0 ? 'taken' : closed ? 'closing' : 'full'
    const deadline = Date.now() + maxWaitMs
    let timer: NodeJS.Timeout | undefined
    const me: Waiter = { woken: false }
    // In line before the first attempt: a place freed during that attempt is not missed.
    line.push(me)
    let stillFree = false
    try {
      for (;;) {
        me.woken = false
        const free = await o.inflight.take(target, importId, cap)
        if (free >= 0) {
          stillFree = free > 0
          return 'taken'
        }
        if (closed) return 'closing'
        if (me.woken) continue
        const left = deadline - Date.now()
        if (left <= 0) return 'full'
        await new Promise<void>((resolve) => {
          me.wake = resolve
          timer = setTimeout(resolve, Math.min(left, Math.round(o.recheckMs * (0.8 + Math.random() * 0.4))))
        })
        clearTimeout(timer)
        me.wake = undefined
        if (closed) return 'closing'
      }
    } finally {
      line.splice(line.indexOf(me), 1)
      if (!closed) {
        // More places were free than the one taken: the next waiter tries too.
        if (stillFree) wakeOne(target)
        // A place announced to this waiter during its last attempt, and not the one it took (or
        // it took none), goes to the next one.
        if (me.woken) wakeOne(target)
      }
    }
  }

  return {
    take,
    waiting: (target) => lines.get(target)?.length ?? 0,
    close: async () => {
      if (closed) return
      closed = true
      offLocal()
      for (const line of lines.values()) for (const w of line) w.wake?.()
      if (sub) await sub.quit().catch(() => sub.disconnect())
    },
  }
}
