import { Agent, request } from 'undici'

/** What an import of the workload is meant to do in the simulator. */
export type ImportKind = 'ok' | 'fail' | 'reject'

/** The IMS code each failing kind must end with (the simulator's deterministic failures). */
export const EXPECTED_CODE: Record<Exclude<ImportKind, 'ok'>, string> = {
  /** The job runs, then ends FAIL with IMG.0057 (found by a poll). */
  fail: 'IMG.0057',
  /** IMS refuses the POST with IMG.0058 (found by the submit). */
  reject: 'IMG.0058',
}

/** Index `i` of a workload where one import in `n` ends FAIL in IMS (IMG.0057) and one in `n` is refused at the POST (IMG.0058). */
export function oneInEach(n: number): (i: number) => ImportKind {
  return (i) => (i % n === 3 ? 'fail' : i % n === 7 ? 'reject' : 'ok')
}

/** A valid system-disk quick-import body; `kind` picks the simulator's outcome. */
export function importBody(i: number, kind: ImportKind = 'ok', target?: string): Record<string, unknown> {
  const n = String(i).padStart(5, '0')
  const imageUrl =
    kind === 'reject'
      ? `reject-img-0058:disks/img-${n}.zvhd2`
      : kind === 'fail'
        ? `chaos-bucket:disks/fail-img-0057-${n}.zvhd2`
        : `chaos-bucket:disks/img-${n}.zvhd2`
  return {
    name: `chaos-${n}`,
    image_url: imageUrl,
    os_version: 'CentOS 7.0 64bit',
    min_disk: 40,
    type: 'ECS',
    ...(target ? { target } : {}),
  }
}

/**
 * Every image file a chaos workload may name, for the simulator's OBS: each index's file of every
 * kind, for indexes 0..5999 (the long runs' largest workload is 5000) and the ones tests use
 * beyond (50_000.., 99_999). With them in OBS the pre-flight passes every body and each kind ends
 * as before: 'fail' in a job FAIL, 'reject' at the POST.
 */
export function workloadFiles(): string[] {
  const indexes = [
    ...Array.from({ length: 6000 }, (_, i) => i),
    ...Array.from({ length: 100 }, (_, i) => 50_000 + i),
    99_999,
  ]
  const kinds: ImportKind[] = ['ok', 'fail', 'reject']
  return indexes.flatMap((i) => kinds.map((kind) => importBody(i, kind).image_url as string))
}

export interface Accepted {
  /** Index of the body in the workload. */
  index: number
  id: string
}

export interface IntakeResult {
  /** Every import that got a 202, with its id. */
  accepted: Accepted[]
  /** Final answers other than 202, by status ('error' = no answer). */
  refused: Record<string, number>
  /** 503 answers that were retried (with retryUnavailable). */
  retried: number
}

export interface PostOptions {
  concurrency?: number
  /** Called after each answer (202 or not), e.g. to crash something mid-intake. */
  onAnswer?: (answered: number, status: number | 'error') => void | Promise<void>
  /** Timeout of one POST (ms). */
  timeoutMs?: number
  /**
   * Retry a 503 after its Retry-After, up to this many POSTs per body, as a client would; the
   * body is then either accepted or refused (default 3; 1: no retry).
   */
  retryUnavailable?: number
}

/** POSTs each body to /v1/imports with bounded concurrency; records the 202s. */
export async function postImports(
  apiUrl: string,
  auth: { authorization: string },
  bodies: Record<string, unknown>[],
  o: PostOptions = {},
): Promise<IntakeResult> {
  const dispatcher = new Agent({ connections: o.concurrency ?? 16 })
  const accepted: Accepted[] = []
  const refused: Record<string, number> = {}
  let next = 0
  let answered = 0
  let retried = 0
  const tries = o.retryUnavailable ?? 3
  const one = async (index: number) => {
    let status: number | 'error' = 'error'
    for (let attempt = 1; attempt <= tries; attempt++) {
      let retryAfterS = 1
      try {
        const res = await request(`${apiUrl}/v1/imports`, {
          method: 'POST',
          dispatcher,
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify(bodies[index]),
          headersTimeout: o.timeoutMs ?? 10_000,
          bodyTimeout: o.timeoutMs ?? 10_000,
        })
        status = res.statusCode
        retryAfterS = Number(res.headers['retry-after'] ?? 1) || 1
        const body = (await res.body.json().catch(() => null)) as { id?: string } | null
        if (status === 202 && body?.id) accepted.push({ index, id: body.id })
      } catch {
        status = 'error'
      }
      if (status !== 503 || attempt === tries) break
      retried++
      await new Promise((r) => setTimeout(r, retryAfterS * 1000))
    }
    if (status !== 202) refused[String(status)] = (refused[String(status)] ?? 0) + 1
    answered++
    await o.onAnswer?.(answered, status)
  }
  await Promise.all(
    Array.from({ length: Math.min(o.concurrency ?? 16, bodies.length) }, async () => {
      while (next < bodies.length) await one(next++)
    }),
  )
  await dispatcher.close()
  return { accepted, refused, retried }
}

/** One timed POST /v1/imports: its status and how long the answer took (ms). */
export async function timedPost(
  apiUrl: string,
  auth: { authorization: string },
  body: Record<string, unknown>,
): Promise<{ status: number | 'error'; ms: number; id?: string }> {
  const started = performance.now()
  try {
    const res = await request(`${apiUrl}/v1/imports`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      headersTimeout: 5000,
      bodyTimeout: 5000,
    })
    const json = (await res.body.json().catch(() => null)) as { id?: string } | null
    return {
      status: res.statusCode,
      ms: performance.now() - started,
      ...(json?.id && res.statusCode === 202 ? { id: json.id } : {}),
    }
  } catch {
    return { status: 'error', ms: performance.now() - started }
  }
}
