import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TargetConfig } from '@ims-importer/core'
import { freePort, uniqueName } from '@ims-importer/core/testing'
import { type RunningSimulator, startSimulator } from 'ims-simulator'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { loadAlertRules } from './helpers/alert-rules.js'
import { dataPanels, loadDashboard, substituteVariables } from './helpers/dashboard.js'
import { ALERTS_FILE } from './helpers/paths.js'
import { waitFor } from './helpers/processes.js'
import { type PromAnswer, type PrometheusServer, startPrometheus } from './helpers/prometheus-server.js'
import { type Stack, startStack } from './helpers/stack.js'
import { requireTool, run } from './helpers/tools.js'

// A real Prometheus scrapes a real API and worker (wired as their main.ts does, listening on
// their own ports) while 30 imports go through the IMS simulator; then every PromQL expression
// of the dashboard and of the alert rules goes through Prometheus' HTTP API.

const IMPORTS = 30
/** These imports end FAIL with IMG.0057 in the simulator (object key contains fail-img-0057). */
const FAILING = new Set([4, 15, 26])

/** Panels that must show data after the workload; their first query is the one checked. */
const CORE_PANELS = [
  'Intake rate',
  'Submit rate',
  'In flight',
  'Queue depth',
  'IMS responses by status code',
  'Failures by IMS error code',
  'Import duration percentiles',
  'Idle place-time share',
  'Detection latency',
  'Job-status polls per finished import',
  'Poll gate decisions',
  'Image quota',
  'Submissions paused for quota',
  'Backlog expected finish',
]

const panels = dataPanels(loadDashboard())
const panelQueries = panels.flatMap((p) =>
  (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: substituteVariables(t.expr) })),
)
const alertRules = loadAlertRules()

const body = (i: number) => ({
  name: `prom-${i}`,
  image_url: FAILING.has(i) ? `bucket:disks/fail-img-0057-${i}.zvhd2` : `bucket:disks/img-${i}.zvhd2`,
  os_version: 'CentOS 7.0 64bit',
  min_disk: 40,
  type: 'ECS',
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The single value of a scalar-like instant query (sum(...)), or undefined when empty. */
function single(answer: PromAnswer): number | undefined {
  const result = answer.data?.result
  if (!Array.isArray(result) || result.length === 0) return undefined
  const first = result[0] as { value: [number, string] }
  return Number(first.value[1])
}

function hasFiniteSample(answer: PromAnswer): boolean {
  const result = answer.data?.result
  if (!Array.isArray(result)) return false
  return (result as { value: [number, string] }[]).some((s) => Number.isFinite(Number(s.value[1])))
}

describe('dashboard and alert queries on a real Prometheus scraping the API and the worker', () => {
  let promtool: string
  let sim: RunningSimulator | undefined
  let stack: Stack | undefined
  let prometheus: PrometheusServer | undefined
  let dir: string | undefined
  const target = uniqueName('prom')
  const tenant = uniqueName('tenant')
  const apiKey = `key-${tenant}`
  let apiUrl = ''
  let workerUrl = ''
  const finals = new Map<string, string>()

  beforeAll(async () => {
    const prometheusBinary = requireTool('prometheus')
    promtool = requireTool('promtool')

    sim = await startSimulator({ initMs: 50, jobDurationMs: { min: 300, max: 900 }, seed: 8, logger: false })
    dir = mkdtempSync(join(tmpdir(), 'ims-docker-test-'))
    const targetsFile = join(dir, 'targets.json')
    const targetConfig = TargetConfig.parse({
      name: target,
      imsEndpoint: sim.url,
      iamEndpoint: `${sim.url}/v3`,
      projectId: 'sim-project',
      auth: { type: 'token', username: 'sim-user', password: 'sim-password', domainName: 'sim-domain' },
      // A cap below the workload, so imports queue behind it and the cap shows on the panels.
      limits: { submitRate: 10, submitWindowMs: 1000, pollRate: 100, maxInFlight: 8 },
      poll: { initialDelayMs: 200, factor: 1.5, maxDelayMs: 600, jitter: 0.1 },
    })
    writeFileSync(targetsFile, JSON.stringify({ targets: [targetConfig] }))

    const [apiPort, workerPort] = [await freePort(), await freePort()]
    apiUrl = `http://127.0.0.1:${apiPort}`
    // Prometheus starts first: its first scrapes find the processes down, then up.
    const [prom, started] = await Promise.all([
      startPrometheus({
        binary: prometheusBinary,
        jobs: { api: [`127.0.0.1:${apiPort}`], worker: [`127.0.0.1:${workerPort}`] },
        ruleFiles: [ALERTS_FILE],
      }),
      startStack({
        env: { REDIS_URL: inject('redisUrl'), IMS_TARGETS_FILE: targetsFile, LOG_LEVEL: 'warn' },
        apiPort,
        workerPort,
        apiEnv: { API_KEYS: `${tenant}:${apiKey}`, SHUTDOWN_DEADLINE_MS: '5000' },
        workerEnv: {
          // The reconciler's job scheduler is global to a Redis: left off, as in the worker's tests.
          RECONCILE_ENABLED: 'false',
          SUBMIT_RETRY_BASE_MS: '100',
          SUBMIT_RETRY_MAX_MS: '1000',
          SUBMIT_LOOKUP_SETTLE_MS: '200',
          INFLIGHT_WAIT_MS: '150',
          THROTTLE_BACKOFF_MS: '300',
          SHUTDOWN_DEADLINE_MS: '5000',
        },
      }),
    ])
    prometheus = prom
    stack = started
    workerUrl = started.workerUrl
    await waitFor(
      'Prometheus to scrape the API and the worker',
      async () => single(await prom.query('sum(up{job=~"api|worker"})')) === 2,
      { timeoutMs: 15_000, watch: [prom.process] },
    )

    // The workload: 30 imports (3 fail in IMS), 3 bodies IMS would refuse, 1 unknown key.
    const post = async (payload: unknown, key = apiKey) => {
      const res = await request(`${apiUrl}/v1/imports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      })
      return { status: res.statusCode, body: (await res.body.json()) as { id?: string } }
    }
    const ids: string[] = []
    for (let i = 0; i < IMPORTS; i++) {
      const res = await post(body(i))
      expect(res.status, JSON.stringify(res.body)).toBe(202)
      ids.push(res.body.id ?? '')
    }
    for (const bad of [
      { ...body(100), image_url: undefined },
      { ...body(101), image_url: 'bucket:disks/img.qcow2' },
      { ...body(102), min_disk: 0 },
    ])
      expect((await post(bad)).status).toBe(400)
    expect((await post(body(103), 'not-a-key')).status).toBe(401)

    await waitFor(
      'every import to reach a final state',
      async () => {
        for (const id of ids) {
          if (finals.has(id)) continue
          const res = await request(`${apiUrl}/v1/imports/${id}`, {
            headers: { authorization: `Bearer ${apiKey}` },
          })
          const view = (await res.body.json()) as { status?: string }
          if (view.status === 'succeeded' || view.status === 'failed') finals.set(id, view.status)
        }
        return finals.size === IMPORTS
      },
      { timeoutMs: 40_000, everyMs: 300 },
    )
    // Prometheus has scraped the end of the run, and a couple more times after it.
    await waitFor(
      'Prometheus to see every final state',
      async () =>
        single(await prom.query(`sum(ims_importer_imports_final_total{target="${target}"})`)) === IMPORTS,
      { timeoutMs: 10_000, watch: [prom.process] },
    )
    await sleep(2500)
  }, 90_000)

  afterAll(async () => {
    await prometheus?.stop()
    await stack?.close()
    await sim?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  }, 30_000)

  it('ran the workload: every import final, the ones with fail-img-0057 failed', () => {
    const failed = [...finals.values()].filter((s) => s === 'failed').length
    expect(finals.size).toBe(IMPORTS)
    expect(failed).toBe(FAILING.size)
  })

  it.each(['api', 'worker'] as const)(
    'passes `promtool check metrics` on the /metrics of the %s',
    async (which) => {
      const res = await request(`${which === 'api' ? apiUrl : workerUrl}/metrics`)
      const text = await res.body.text()
      expect(res.statusCode).toBe(200)
      expect(text).toContain(`service="${which}"`)
      const r = run(promtool, ['check', 'metrics'], { input: text })
      expect(`${r.stdout}${r.stderr}`.trim()).toBe('')
      expect(r.status).toBe(0)
    },
  )

  it.each(panelQueries)('evaluates the dashboard query of "$panel" ($refId)', async ({ expr }) => {
    const answer = await prometheus?.query(expr)
    expect(answer?.error ?? '', expr).toBe('')
    expect(answer?.status, expr).toBe('success')
  })

  it('shows data on the core panels', async () => {
    const empty: string[] = []
    for (const title of CORE_PANELS) {
      const panel = panels.find((p) => p.title.startsWith(title))
      const first = panel?.targets?.[0]
      expect(first, `a panel titled "${title}..."`).toBeDefined()
      const expr = substituteVariables(first?.expr ?? '')
      const answer = await prometheus?.query(expr)
      if (!answer || !hasFiniteSample(answer)) empty.push(`${title}: ${expr}`)
    }
    expect(empty).toEqual([])
  })

  it('offers the workload target in the dashboard `target` variable', async () => {
    const answer = await prometheus?.get<{ data: string[] }>(
      `/api/v1/label/target/values?match[]=${encodeURIComponent('ims_importer_inflight_cap')}`,
    )
    expect(answer?.data).toContain(target)
  })

  it.each(alertRules)('evaluates the expression of alert $alert', async ({ expr }) => {
    const answer = await prometheus?.query(expr)
    expect(answer?.error ?? '', expr).toBe('')
    expect(answer?.status, expr).toBe('success')
  })

  it('loads every alert rule and evaluates it without error; nothing is down', async () => {
    const answer = await prometheus?.get<{
      data: { groups: { rules: { name: string; health: string; lastError?: string; state: string }[] }[] }
    }>('/api/v1/rules?type=alert')
    const rules = answer?.data.groups.flatMap((g) => g.rules) ?? []
    expect(rules.map((r) => r.name).sort()).toEqual(alertRules.map((r) => r.alert).sort())
    for (const r of rules)
      expect({ name: r.name, error: r.lastError ?? '' }).toEqual({ name: r.name, error: '' })
    for (const r of rules) expect(r.health, r.name).not.toBe('err')
    const down = rules.filter((r) => /ProcessDown|NoWorker/.test(r.name))
    expect(down.map((r) => r.state)).toEqual(['inactive', 'inactive'])
  })
})
