import { testKeys } from '@ims-importer/core/testing'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { anyCase, type BodyCase } from '../../src/input/arbitraries.js'
import { loadInputRunConfig } from '../../src/input/run-config.js'
import { startTestApi, type TestApi } from '../../src/input/test-api.js'
import { type ApiVerdict, type FieldError, judge } from '../../src/input/verdict.js'

/** This file's own Redis namespace: files run side by side on one Redis. */
const ns = testKeys('intake-properties')

/*
 * Bad input, generated: at least 10,000 bodies through the intake in-process (app.inject), most
 * as batch items, a few thousand as single POSTs. For every body: never a 5xx; every rejection is
 * problem+json whose errors each name a path and a reason; accepted bodies get 202 and are kept
 * as sent. Differential: the API's verdict equals the IMS simulator's verdict on the same parsed
 * JSON, except where the service's own documented rules (tag slot for the marker, marker key,
 * a key twice) refuse what IMS takes.
 */
const run = loadInputRunConfig(process.env)

interface Figures {
  bodies: number
  accepted: number
  rejected: number
  serviceOnly: number
  byFamily: Record<string, { n: number; accepted: number }>
  codeMismatches: Map<string, { n: number; example: string }>
}
const figures: Figures = {
  bodies: 0,
  accepted: 0,
  rejected: 0,
  serviceOnly: 0,
  byFamily: {},
  codeMismatches: new Map(),
}

let api: TestApi
const acceptedIds: string[] = []

beforeAll(async () => {
  api = await startTestApi(inject('redisUrl'), ns, { config: { logLevel: 'warn' } })
})

afterAll(async () => {
  if (!api) return
  // Leave nothing behind: the generated imports and their submit jobs.
  for (const t of api.targets) await api.deps.queues.submit(t).obliterate({ force: true })
  for (let i = 0; i < acceptedIds.length; i += 500)
    await Promise.all(acceptedIds.slice(i, i + 500).map((id) => api.deps.store.remove(id)))
  await api.close()
  const families = Object.entries(figures.byFamily)
    .map(([f, v]) => `${f} ${v.n} (${v.accepted} accepted)`)
    .join(', ')
  console.info(
    `[intake properties] seed ${run.seed}: ${figures.bodies} bodies, ${figures.accepted} accepted, ${figures.rejected} rejected (${figures.serviceOnly} by the service's own tag rules only); ${families}`,
  )
  if (figures.codeMismatches.size > 0)
    console.info(
      `[intake properties] IMS code differences (both reject, IMS's code not among the API's; the commonest):\n${[
        ...figures.codeMismatches,
      ]
        .sort((a, b) => b[1].n - a[1].n)
        .slice(0, 6)
        .map(([k, v]) => `  ${v.n} x ${k}, e.g. ${v.example.slice(0, 240)}`)
        .join('\n')}`,
    )
})

const show = (c: BodyCase) =>
  `${c.raw.length > 700 ? `${c.raw.slice(0, 700)}...` : c.raw}  [${c.family}: ${c.note}]`

/** Checks one body's outcome; returns what is wrong (empty when all holds). */
function check(c: BodyCase, verdict: ApiVerdict, prefix: string): string[] {
  const body = JSON.parse(c.raw) as unknown
  const j = judge(body, verdict, prefix)
  figures.bodies++
  const fam = figures.byFamily[c.family] ?? { n: 0, accepted: 0 }
  figures.byFamily[c.family] = fam
  fam.n++
  if (verdict.accepted) {
    figures.accepted++
    fam.accepted++
  } else figures.rejected++
  if (j.serviceOnly) figures.serviceOnly++
  if (j.codeMismatch) {
    const seen = figures.codeMismatches.get(j.codeMismatch)
    if (seen) seen.n++
    else figures.codeMismatches.set(j.codeMismatch, { n: 1, example: show(c) })
  }
  const out = j.propertyFailures.map((f) => `${f}\n    body: ${show(c)}`)
  // The valid generator makes bodies both sides must take; a rejection here is a bug on one side.
  if (c.family === 'valid' && !verdict.accepted)
    out.push(
      `a valid body was rejected: ${JSON.stringify(verdict.errors).slice(0, 400)}\n    body: ${show(c)}`,
    )
  if (j.disagreement) out.push(`DISAGREEMENT: ${j.disagreement}\n    body: ${show(c)}`)
  return out
}

interface BatchAnswer {
  imports?: { index: number; id: string }[]
  errors?: { index: number; errors: FieldError[] }[]
  item_errors?: { index: number; errors: FieldError[] }[]
}

const parsesAsJson = (raw: string): boolean => {
  try {
    JSON.parse(raw)
    return true
  } catch {
    return false
  }
}

async function checkBatch(cases: BodyCase[]): Promise<string[]> {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/batches',
    headers: { ...api.auth(api.tenants[0]), 'content-type': 'application/json' },
    payload: `{"items":[${cases.map((c) => c.raw).join(',')}]}`,
  })
  if (res.statusCode !== 202 && res.statusCode !== 400)
    return [`batch answered ${res.statusCode}: ${res.body.slice(0, 500)}`]
  if (res.statusCode === 400 && !String(res.headers['content-type']).startsWith('application/problem+json'))
    return [`batch 400 is not problem+json: ${res.headers['content-type']}`]
  const answer = res.json() as BatchAnswer
  const verdicts = new Map<number, ApiVerdict>()
  const failures: string[] = []
  for (const i of answer.imports ?? []) {
    verdicts.set(i.index, { accepted: true })
    acceptedIds.push(i.id)
  }
  // A 202 lists rejected items in `errors`; a 400 (no item valid) lists them in `item_errors`, its
  // `errors` being the flat list of every item's field errors.
  for (const e of answer.item_errors ?? answer.errors ?? []) {
    if (verdicts.has(e.index)) failures.push(`item ${e.index} both accepted and rejected`)
    verdicts.set(e.index, { accepted: false, errors: e.errors })
  }
  if (res.statusCode === 400 && (answer.imports ?? []).length > 0) failures.push('a 400 batch lists imports')
  cases.forEach((c, index) => {
    const verdict = verdicts.get(index)
    if (!verdict) failures.push(`item ${index} has no verdict\n    body: ${show(c)}`)
    else failures.push(...check(c, verdict, `items[${index}]`))
  })
  return failures
}

async function checkDirect(c: BodyCase): Promise<string[]> {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/imports',
    headers: { ...api.auth(api.tenants[0]), 'content-type': 'application/json' },
    payload: c.raw,
  })
  if (res.statusCode === 202) {
    const view = res.json() as { id: string; request: unknown; status: string }
    acceptedIds.push(view.id)
    const failures = check(c, { accepted: true }, '')
    // Kept exactly as sent: the request is what IMS will get (plus only the marker tag later).
    try {
      expect(view.request).toEqual(JSON.parse(c.raw))
      expect(view.status).toBe('queued')
      expect(res.headers.location).toBe(`/v1/imports/${view.id}`)
    } catch (err) {
      failures.push(
        `accepted but not kept as sent: ${(err as Error).message.slice(0, 300)}\n    body: ${show(c)}`,
      )
    }
    return failures
  }
  if (res.statusCode !== 400)
    return [`answered ${res.statusCode}: ${res.body.slice(0, 300)}\n    body: ${show(c)}`]
  if (!String(res.headers['content-type']).startsWith('application/problem+json'))
    return [`400 is not problem+json (${res.headers['content-type']})\n    body: ${show(c)}`]
  const problem = res.json() as {
    status: number
    type: string
    title: string
    detail: string
    errors?: FieldError[]
  }
  if (problem.status !== 400 || !problem.title || !problem.detail)
    return [`400 problem incomplete: ${res.body.slice(0, 300)}`]
  return check(c, { accepted: false, errors: problem.errors ?? [] }, '')
}

/** fast-check drives the runs; the property collects what is wrong so the report shows bodies, not arrays. */
async function runProperty(
  arb: fc.Arbitrary<BodyCase[]>,
  numRuns: number,
  each: (cases: BodyCase[]) => Promise<string[]>,
): Promise<void> {
  const failures: string[] = []
  await fc.assert(
    fc.asyncProperty(arb, async (cases) => {
      const found = await each(cases)
      failures.push(...found)
      return found.length === 0
    }),
    {
      numRuns,
      seed: run.seed,
      endOnFailure: true,
      reporter: (details) => {
        if (!details.failed) return
        const error = details.errorInstance
        throw new Error(
          `seed ${details.seed} (replay with FC_SEED=${details.seed}): ${failures.length} failure(s)${error ? `, error: ${String(error)}` : ''}\n${failures.slice(0, 15).join('\n')}`,
        )
      },
    },
  )
}

describe('the intake under generated bodies (property and differential)', () => {
  it(`${run.batchBodies} bodies as batch items: no 5xx, every error has a path and a reason, verdicts equal IMS's`, async () => {
    await runProperty(
      // A batch is one JSON document: an item that is not JSON by itself (a raw-text mutation)
      // makes the whole body unreadable (400, no item verdicts). The single POSTs cover those.
      fc.array(
        anyCase.filter((c) => parsesAsJson(c.raw)),
        { minLength: run.batchSize, maxLength: run.batchSize },
      ),
      Math.ceil(run.batchBodies / run.batchSize),
      checkBatch,
    )
  }, 600_000)

  it(`${run.directBodies} bodies as single POSTs: 202 or a 400 problem naming paths, verdicts equal IMS's`, async () => {
    await runProperty(
      fc.array(anyCase, { minLength: run.directConcurrency, maxLength: run.directConcurrency }),
      Math.ceil(run.directBodies / run.directConcurrency),
      async (cases) => (await Promise.all(cases.map(checkDirect))).flat(),
    )
    expect(figures.bodies).toBeGreaterThanOrEqual(10_000)
    // The run covered both outcomes and every family of bodies.
    expect(figures.accepted).toBeGreaterThan(figures.bodies / 10)
    expect(figures.rejected).toBeGreaterThan(figures.bodies / 10)
    expect(Object.keys(figures.byFamily).sort()).toEqual(['arbitrary', 'near-valid', 'valid'])
  }, 600_000)
})
