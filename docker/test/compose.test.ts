import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { isAbsolute, join, posix, resolve } from 'node:path'
import { ApiEnv } from '@ims-importer/api'
import { SIMULATOR_DEFAULTS } from '@ims-importer/core'
import { WorkerEnv } from '@ims-importer/worker'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { type DashboardPanel, dataPanels, loadDashboard } from './helpers/dashboard.js'
import { DOCKER_DIR, PROMETHEUS_DIR, REPO_ROOT } from './helpers/paths.js'

// No Docker engine runs here: these checks read docker/compose.yaml and the files it names and
// hold them against the apps' own defaults.

interface ComposeService {
  image?: string
  build?: { context: string; dockerfile?: string; args?: Record<string, string> }
  command?: string[]
  environment?: Record<string, string>
  ports?: string[]
  expose?: string[]
  volumes?: string[]
  depends_on?: string[] | Record<string, unknown>
  deploy?: { replicas?: number }
}
interface Compose {
  services: Record<string, ComposeService>
  volumes?: Record<string, unknown>
}

const compose = parseYaml(readFileSync(join(DOCKER_DIR, 'compose.yaml'), 'utf8'), { merge: true }) as Compose
const services = compose.services
const serviceNames = Object.keys(services)
const service = (name: string): ComposeService => {
  const s = services[name]
  if (!s) throw new Error(`compose.yaml has no service ${name}`)
  return s
}

/** The port each service listens on inside the network: the apps' defaults unless env overrides. */
function listenPort(name: string): number {
  const env = services[name]?.environment ?? {}
  switch (name) {
    case 'redis':
      return 6379
    case 'ims-simulator':
      return Number(env.SIM_PORT ?? new URL(SIMULATOR_DEFAULTS.url).port)
    case 'api':
      return Number(env.PORT ?? ApiEnv.parse({}).PORT)
    case 'worker':
      return Number(env.WORKER_PORT ?? WorkerEnv.parse({}).WORKER_PORT)
    case 'prometheus':
      return 9090
    case 'grafana':
      return 3000
    default:
      throw new Error(`no known port for service ${name}`)
  }
}

interface Mount {
  source: string
  target: string
  bind: boolean
}
function mounts(s: ComposeService): Mount[] {
  return (s.volumes ?? []).map((v) => {
    const [source = '', target = ''] = v.split(':')
    const bind = source.startsWith('.') || source.startsWith('/')
    return { source: bind ? resolve(DOCKER_DIR, source) : source, target, bind }
  })
}
/** The host path behind a path inside a service's container, through its bind mounts. */
function hostPath(s: ComposeService, containerPath: string): string | undefined {
  for (const m of mounts(s)) {
    if (!m.bind) continue
    if (containerPath === m.target) return m.source
    if (containerPath.startsWith(`${m.target}/`))
      return join(m.source, containerPath.slice(m.target.length + 1))
  }
  return undefined
}

/** host:port for URLs like redis://redis:6379 or http://ims-simulator:4600/v3. */
function urlHostPort(value: string): { host: string; port: number } | undefined {
  const m = /^(?:https?|redis):\/\/([^/:]+)(?::(\d+))?/.exec(value)
  if (!m?.[1]) return undefined
  return { host: m[1], port: Number(m[2] ?? (value.startsWith('redis') ? 6379 : 80)) }
}

describe('docker/compose.yaml', () => {
  it('has the services of the stack, one Redis with AOF and noeviction, two workers', () => {
    expect(serviceNames.sort()).toEqual(['api', 'grafana', 'ims-simulator', 'prometheus', 'redis', 'worker'])
    const redis = service('redis')
    expect(redis.image).toMatch(/^redis:7-alpine$/)
    expect(redis.command?.join(' ')).toMatch(/--appendonly yes/)
    expect(redis.command?.join(' ')).toMatch(/--maxmemory-policy noeviction/)
    expect(redis.command?.join(' ')).toMatch(/--appendfsync always/)
    expect(mounts(redis).some((m) => !m.bind && m.target === '/data')).toBe(true)
    expect(service('worker').deploy?.replicas).toBe(2)
    expect(service('prometheus').image).toMatch(/^prom\/prometheus(:|$)/)
    expect(service('grafana').image).toMatch(/^grafana\/grafana(:|$)/)
  })

  // Issue 16: compose shipped API_KEYS dev:dev-key on a published port, Grafana with anonymous
  // viewers and admin/admin, Prometheus with --web.enable-lifecycle, Redis without maxmemory.
  it('has no default key or password: they come from docker/.env, which compose requires', () => {
    const raw = readFileSync(join(DOCKER_DIR, 'compose.yaml'), 'utf8')
    for (const name of ['API_KEYS', 'GRAFANA_ADMIN_PASSWORD']) {
      expect(raw, `${name} has no default`).not.toMatch(new RegExp(`\\$\\{${name}:?-`))
      expect(raw, `${name} is required`).toMatch(new RegExp(`\\$\\{${name}:\\?[^}]+\\}`))
    }
    expect(service('api').environment?.API_KEYS).toMatch(/^\$\{API_KEYS:\?/)
    expect(service('grafana').environment?.GF_SECURITY_ADMIN_PASSWORD).toMatch(
      /^\$\{GRAFANA_ADMIN_PASSWORD:\?/,
    )
    expect(raw).not.toMatch(/dev-key/)
    const example = readFileSync(join(DOCKER_DIR, '.env.example'), 'utf8')
    for (const name of ['API_KEYS', 'GRAFANA_ADMIN_PASSWORD'])
      expect(example).toMatch(new RegExp(`^${name}=$`, 'm'))
  })

  it('gives Grafana no anonymous access and Prometheus no lifecycle API', () => {
    const grafana = service('grafana').environment ?? {}
    expect(grafana.GF_AUTH_ANONYMOUS_ENABLED ?? 'false').toBe('false')
    expect(grafana.GF_AUTH_ANONYMOUS_ORG_ROLE).toBeUndefined()
    expect(service('prometheus').command ?? []).not.toContain('--web.enable-lifecycle')
    expect((service('prometheus').command ?? []).some((a) => a.startsWith('--web.enable-admin-api'))).toBe(
      false,
    )
  })

  it('bounds Redis with maxmemory and noeviction', () => {
    const args = service('redis').command ?? []
    const at = args.indexOf('--maxmemory')
    expect(at, '--maxmemory is set').toBeGreaterThan(0)
    expect(args[at + 1]).toMatch(/^\$\{REDIS_MAXMEMORY:-\d+[kmg]b\}$/)
    expect(args.join(' ')).toMatch(/--maxmemory-policy noeviction/)
  })

  it('builds each app from docker/Dockerfile with the repository root as context', () => {
    for (const [name, app] of [
      ['api', 'api'],
      ['worker', 'worker'],
      ['ims-simulator', 'ims-simulator'],
    ] as const) {
      const build = service(name).build
      expect(build, name).toBeDefined()
      const context = resolve(DOCKER_DIR, build?.context ?? '')
      expect(context, `${name} build context`).toBe(REPO_ROOT)
      expect(existsSync(join(context, 'pnpm-workspace.yaml')), 'context holds the workspace').toBe(true)
      const dockerfile = join(context, build?.dockerfile ?? 'Dockerfile')
      expect(existsSync(dockerfile), dockerfile).toBe(true)
      expect(build?.args?.APP, `${name} APP`).toBe(app)
      expect(existsSync(join(context, 'apps', app, 'src', 'main.ts')), `apps/${app}/src/main.ts`).toBe(true)
      expect(existsSync(join(context, 'apps', app, 'package.json')), `apps/${app}/package.json`).toBe(true)
    }
  })

  it('has a Dockerfile whose image runs as a non-root user with production dependencies only', () => {
    const dockerfile = readFileSync(join(DOCKER_DIR, 'Dockerfile'), 'utf8')
    expect(dockerfile).toMatch(/^ARG APP/m)
    expect(dockerfile).toMatch(/deploy --prod/)
    const lastStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))
    expect(lastStage).toMatch(/^USER (?!root\b)\S+/m)
  })

  it('mounts only files and folders that exist, and only declared named volumes', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const m of mounts(s)) {
        expect(isAbsolute(m.target), `${name}: ${m.target}`).toBe(true)
        if (m.bind) expect(existsSync(m.source), `${name} mounts ${m.source}`).toBe(true)
        else expect(Object.keys(compose.volumes ?? {}), `${name} uses volume ${m.source}`).toContain(m.source)
      }
    }
  })

  it('names only existing services, on their ports, in URLs and depends_on', () => {
    const urls: string[] = []
    for (const [name, s] of Object.entries(services)) {
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {})
      for (const d of deps) expect(serviceNames, `${name} depends on ${d}`).toContain(d)
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        const hp = urlHostPort(String(value))
        if (!hp) continue
        urls.push(`${name}.${key}`)
        expect(serviceNames, `${name} ${key}=${value}`).toContain(hp.host)
        expect(hp.port, `${name} ${key}=${value}`).toBe(listenPort(hp.host))
        // A service started before the one that needs it.
        if (name !== hp.host) expect(deps, `${name} depends on ${hp.host}`).toContain(hp.host)
      }
    }
    expect(urls.sort()).toEqual(
      ['api.IMS_SIMULATOR_URL', 'api.REDIS_URL', 'worker.IMS_SIMULATOR_URL', 'worker.REDIS_URL'].sort(),
    )
  })

  it('publishes and exposes the ports the apps listen on; the API and the simulator listen beyond localhost', () => {
    expect(service('api').environment?.HOST).toBe('0.0.0.0')
    expect(service('ims-simulator').environment?.SIM_HOST).toBe('0.0.0.0')
    expect(service('worker').environment?.WORKER_HOST ?? WorkerEnv.parse({}).WORKER_HOST).toBe('0.0.0.0')
    expect(service('api').environment?.API_KEYS).toBeTruthy()
    expect(listenPort('api')).toBe(8080)
    expect(listenPort('worker')).toBe(9091)
    expect(listenPort('ims-simulator')).toBe(4600)
    for (const [name, s] of Object.entries(services)) {
      for (const p of s.ports ?? []) {
        const containerPort = Number(p.split(':').at(-1))
        expect(containerPort, `${name} publishes ${p}`).toBe(listenPort(name))
      }
      for (const p of s.expose ?? []) expect(Number(p), `${name} exposes ${p}`).toBe(listenPort(name))
    }
    // Replicas cannot share a fixed host port.
    expect(service('worker').ports ?? []).toEqual([])
  })
})

describe('docker/prometheus/prometheus.yml', () => {
  interface PromConfig {
    rule_files?: string[]
    scrape_configs: {
      job_name: string
      static_configs?: { targets: string[] }[]
      dns_sd_configs?: { names: string[]; type?: string; port: number }[]
    }[]
  }
  const prom = service('prometheus')
  const configArg = (prom.command ?? []).find((a) => a.startsWith('--config.file='))?.split('=')[1]
  const configPath = configArg ? hostPath(prom, configArg) : undefined

  it('is the file the prometheus service loads, with rule files next to it', () => {
    expect(configPath).toBe(join(PROMETHEUS_DIR, 'prometheus.yml'))
    const config = parseYaml(readFileSync(configPath ?? '', 'utf8')) as PromConfig
    expect(config.rule_files?.length).toBeGreaterThan(0)
    for (const f of config.rule_files ?? []) {
      expect(isAbsolute(f), `${f} is relative to prometheus.yml`).toBe(false)
      expect(existsSync(join(PROMETHEUS_DIR, f)), f).toBe(true)
    }
  })

  it('scrapes the api and every worker replica by their compose names and ports', () => {
    const config = parseYaml(readFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8')) as PromConfig
    const scraped = new Map<string, string[]>()
    for (const job of config.scrape_configs) {
      const targets: string[] = []
      for (const sc of job.static_configs ?? []) targets.push(...sc.targets)
      for (const dns of job.dns_sd_configs ?? []) {
        expect(dns.type ?? 'SRV', `${job.job_name}: A records carry no port`).toBe('A')
        for (const n of dns.names) targets.push(`${n.replace(/^tasks\./, '')}:${dns.port}`)
      }
      for (const t of targets) {
        const [host = '', port] = t.split(':')
        expect(serviceNames, `${job.job_name} scrapes ${t}`).toContain(host)
        expect(Number(port), `${job.job_name} scrapes ${t}`).toBe(listenPort(host))
      }
      scraped.set(job.job_name, targets)
    }
    expect(scraped.get('api')).toEqual(['api:8080'])
    expect(scraped.get('worker')).toEqual(['worker:9091'])
    // The worker job must find replicas through DNS, not a single fixed target.
    expect(config.scrape_configs.find((j) => j.job_name === 'worker')?.dns_sd_configs).toHaveLength(1)
  })
})

describe('Grafana provisioning', () => {
  const grafana = service('grafana')
  const provisioning = hostPath(grafana, '/etc/grafana/provisioning')
  const readYamls = (dir: string) =>
    readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => parseYaml(readFileSync(join(dir, f), 'utf8')))

  it('has a Prometheus datasource pointing at the prometheus service', () => {
    expect(provisioning).toBe(join(DOCKER_DIR, 'grafana', 'provisioning'))
    const docs = readYamls(join(provisioning ?? '', 'datasources')) as {
      datasources: { uid: string; type: string; url: string }[]
    }[]
    const sources = docs.flatMap((d) => d.datasources)
    expect(sources).toHaveLength(1)
    const ds = sources[0]
    expect(ds?.type).toBe('prometheus')
    const hp = urlHostPort(ds?.url ?? '')
    expect(hp).toEqual({ host: 'prometheus', port: listenPort('prometheus') })
    // Every panel and query of the dashboard uses this datasource.
    const dashboard = loadDashboard()
    for (const p of dataPanels(dashboard)) {
      expect(p.datasource?.uid, p.title).toBe(ds?.uid)
      for (const t of p.targets ?? []) expect(t.datasource?.uid ?? ds?.uid, p.title).toBe(ds?.uid)
    }
  })

  it('loads dashboards from a mounted folder that holds the ims-importer dashboard', () => {
    const docs = readYamls(join(provisioning ?? '', 'dashboards')) as {
      providers: { type: string; options: { path: string } }[]
    }[]
    const providers = docs.flatMap((d) => d.providers)
    expect(providers.length).toBeGreaterThan(0)
    for (const p of providers) {
      const folder = hostPath(grafana, p.options.path)
      expect(folder, `${p.options.path} is mounted`).toBeDefined()
      expect(statSync(folder ?? '').isDirectory()).toBe(true)
      expect(readdirSync(folder ?? '')).toContain('ims-importer.json')
    }
    const home = grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH
    if (home) expect(existsSync(hostPath(grafana, posix.normalize(home)) ?? ''), home).toBe(true)
  })
})

describe('docker/grafana/dashboards/ims-importer.json', () => {
  const dashboard = loadDashboard()
  const panels = dataPanels(dashboard)

  it('parses, and every panel has at least one query expression', () => {
    expect(dashboard.uid).toBe('ims-importer')
    expect(panels.length).toBeGreaterThanOrEqual(12)
    const empty = panels.filter(
      (p: DashboardPanel) => !(p.targets ?? []).some((t) => typeof t.expr === 'string' && t.expr.trim()),
    )
    expect(empty.map((p) => p.title)).toEqual([])
    const ids = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).map((p) => p.id)
    expect(new Set(ids).size, 'panel ids are unique').toBe(ids.length)
  })

  it('has the panels the issue asks for and a `target` variable', () => {
    const titles = panels.map((p) => p.title.toLowerCase())
    for (const wanted of [
      'intake rate',
      'submit rate',
      'in flight',
      'queue depth',
      'time to drain',
      'import duration',
      'ims responses by status code',
      'throttle events',
      'failures by ims error code',
      'polls per import',
      'callback failures',
      'reconciler repairs',
    ])
      expect(
        titles.some((t) => t.includes(wanted)),
        `a panel about ${wanted}`,
      ).toBe(true)
    const variable = dashboard.templating.list.find((v) => v.name === 'target')
    expect(variable?.type).toBe('query')
    expect(variable?.definition).toMatch(/^label_values\(ims_importer_\w+, target\)$/)
  })
})
