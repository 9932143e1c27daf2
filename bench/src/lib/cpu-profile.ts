import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface CpuProfile {
  startTime: number
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const INCLUSIVE_ENTRY_POINTS =
  /^(sendCommand \(ioredis|LOG \(pino|Reply\.send \(fastify|defaultJsonParser \(fastify|safeParse \(zod|addBulk \(bullmq|addJob \(bullmq|Socket\._writeGeneric|writeUtf8String|\(garbage collector\))/

export interface HotSpot {
  /** function (file:line), with the path shortened. */
  where: string
  selfPct: number
}

function shorten(url: string, root: string): string {
  const path = url.replace(/^file:\/\//, '')
  const nm = path.lastIndexOf('node_modules/')
  if (nm >= 0) return path.slice(nm + 'node_modules/'.length).replace(/^\.pnpm\/[^/]+\/node_modules\//, '')
  return path.startsWith('/') ? relative(root, path) : path || '(native)'
}

/** Busy (not idle) sample time of a profile within the window, in µs. */
function busyUs(prof: CpuProfile, window?: { fromUs: number; toUs: number }): number {
  const idle = new Set(prof.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id))
  let at = prof.startTime
  let busy = 0
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0
    at += dt
    if (window && (at < window.fromUs || at > window.toUs)) return
    if (!idle.has(id)) busy += dt
  })
  return busy
}

/**
 * Self time per function, and per package (node_modules/<pkg>, a source folder, or node:
 * internals), from the .cpuprofile files Node wrote with --cpu-prof into `dir`: of the busiest
 * thread's, the main thread under load (Node writes one file per thread, and tsx runs its module
 * loader on a thread of its own that is idle under load; merged in, it would halve every share).
 */
export function summarizeCpuProfiles(
  dir: string,
  root: string,
  top = 12,
  /** Only samples taken in this window (CLOCK_MONOTONIC µs, see monotonicUs), e.g. the load phase. */
  window?: { fromUs: number; toUs: number },
): { functions: HotSpot[]; packages: HotSpot[]; inclusive: HotSpot[]; busyPct: number; files: string[] } {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
  const byFn = new Map<string, number>()
  const byPkg = new Map<string, number>()
  const incl = new Map<string, number>()
  let total = 0
  let busy = 0
  let busiest: { prof: CpuProfile; busy: number } | undefined
  for (const f of files) {
    const prof = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile
    const profBusy = busyUs(prof, window)
    if (!busiest || profBusy > busiest.busy) busiest = { prof, busy: profBusy }
  }
  for (const prof of busiest ? [busiest.prof] : []) {
    const nodes = new Map(prof.nodes.map((n) => [n.id, n]))
    const parent = new Map<number, number>()
    for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
    let at = prof.startTime
    prof.samples.forEach((id, i) => {
      const dt = prof.timeDeltas[i] ?? 0
      at += dt
      if (window && (at < window.fromUs || at > window.toUs)) return
      const n = nodes.get(id)
      if (!n) return
      const { functionName, url, lineNumber } = n.callFrame
      const short = shorten(url, root)
      const fn = `${functionName || '(anonymous)'} (${short}${url ? `:${lineNumber + 1}` : ''})`
      byFn.set(fn, (byFn.get(fn) ?? 0) + dt)
      const pkg = url.includes('node_modules/')
        ? (/node_modules\/(@[^/]+\/[^/]+|[^/@][^/]*)\/(?!.*node_modules\/)/.exec(url)?.[1] ?? short)
        : url.startsWith('node:')
          ? 'node: internals'
          : url === ''
            ? functionName === '(idle)' ||
              functionName === '(program)' ||
              functionName === '(garbage collector)'
              ? functionName
              : '(native)'
            : short.split('/').slice(0, 3).join('/')
      byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + dt)
      total += dt
      if (functionName === '(idle)') return
      busy += dt
      // Inclusive time of the service's own functions and of a few library entry points that
      // say where the time goes (Redis commands, logging, answers, JSON parsing, zod).
      const seen = new Set<string>()
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const cf = nodes.get(cur)?.callFrame
        if (!cf) break
        const file = shorten(cf.url, root)
        const own = !cf.url.includes('node_modules/') && /^(apps|packages)\//.test(file)
        const key = `${cf.functionName || '(anonymous)'} (${file}${cf.url ? `:${cf.lineNumber + 1}` : ''})`
        if (!own && !INCLUSIVE_ENTRY_POINTS.test(key)) continue
        if (seen.has(key)) continue
        seen.add(key)
        incl.set(key, (incl.get(key) ?? 0) + dt)
      }
    })
  }
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, t]) => ({ where, selfPct: Math.round((t / Math.max(1, total)) * 1000) / 10 }))
  const rankBusy = [...incl.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([where, t]) => ({ where, selfPct: Math.round((t / Math.max(1, busy)) * 1000) / 10 }))
  return {
    functions: rank(byFn),
    packages: rank(byPkg),
    inclusive: rankBusy,
    busyPct: Math.round((busy / Math.max(1, total)) * 1000) / 10,
    files,
  }
}

/** Now on the clock V8 stamps profile samples with (CLOCK_MONOTONIC), in µs; the same in every process. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n)
