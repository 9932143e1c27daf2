import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '@ims-importer/core/testing'
import { request } from 'undici'
import { stringify as toYaml } from 'yaml'
import { type Started, startProcess, waitFor } from './processes.js'

export interface PrometheusServer {
  url: string
  process: Started
  /** An instant query at the current time; the raw answer of the HTTP API. */
  query(expr: string): Promise<PromAnswer>
  get<T>(path: string): Promise<T>
  stop(): Promise<void>
}

export interface PromSample {
  metric: Record<string, string>
  value: [number, string]
}
export interface PromAnswer {
  status: 'success' | 'error'
  errorType?: string
  error?: string
  data?: { resultType: string; result: PromSample[] | [number, string] }
  warnings?: string[]
}

/**
 * A real Prometheus (the `prometheus` binary) with its own config and TSDB in a temp folder,
 * scraping the given jobs every 2 s and evaluating the given rule files every second. A scrape may
 * take its whole interval: the worker's /metrics asks Redis for queue and in-flight counts, and a
 * 1 s timeout on a loaded machine marked a running worker down (ProcessDown pending).
 */
export async function startPrometheus(options: {
  binary: string
  jobs: Record<string, string[]>
  ruleFiles: string[]
}): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ims-prometheus-'))
  const port = await freePort()
  const config = {
    global: { scrape_interval: '2s', scrape_timeout: '2s', evaluation_interval: '1s' },
    rule_files: options.ruleFiles,
    scrape_configs: Object.entries(options.jobs).map(([job, targets]) => ({
      job_name: job,
      static_configs: [{ targets }],
    })),
  }
  const configFile = join(dir, 'prometheus.yml')
  writeFileSync(configFile, toYaml(config))
  const proc = startProcess(
    'prometheus',
    options.binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    {},
    dir,
  )
  const url = `http://127.0.0.1:${port}`
  const get = async <T>(path: string): Promise<T> => {
    const res = await request(`${url}${path}`)
    return (await res.body.json()) as T
  }
  try {
    await waitFor(
      'prometheus to be ready',
      async () => {
        const res = await request(`${url}/-/ready`)
        await res.body.dump()
        return res.statusCode === 200
      },
      { watch: [proc] },
    )
  } catch (err) {
    await proc.stop(2000)
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  return {
    url,
    process: proc,
    get,
    query: (expr) => get<PromAnswer>(`/api/v1/query?query=${encodeURIComponent(expr)}`),
    stop: async () => {
      await proc.stop(5000)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
