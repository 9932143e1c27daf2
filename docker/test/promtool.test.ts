import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { loadAlertRules } from './helpers/alert-rules.js'
import { PROMETHEUS_DIR } from './helpers/paths.js'
import { requireTool, run } from './helpers/tools.js'

// promtool runs in docker/prometheus, so relative rule_files resolve as they do in the container.
describe('promtool on docker/prometheus', () => {
  let promtool: string
  beforeAll(() => {
    promtool = requireTool('promtool')
  })

  it('accepts prometheus.yml and the rule files it names', () => {
    const r = run(promtool, ['check', 'config', 'prometheus.yml'], { cwd: PROMETHEUS_DIR })
    expect(r.status, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toMatch(/SUCCESS: 1 rule files found/)
  })

  it('accepts alerts.yml', () => {
    const r = run(promtool, ['check', 'rules', 'alerts.yml'], { cwd: PROMETHEUS_DIR })
    expect(r.status, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toContain(`SUCCESS: ${loadAlertRules().length} rules found`)
  })

  it('passes the alert unit tests of alerts.test.yml', () => {
    const r = run(promtool, ['test', 'rules', 'alerts.test.yml'], { cwd: PROMETHEUS_DIR })
    expect(r.status, r.stdout + r.stderr).toBe(0)
  })

  it('gives every alert a severity, a summary, a description and a `for`', () => {
    for (const rule of loadAlertRules()) {
      expect(rule.labels?.severity, rule.alert).toMatch(/^(warning|critical)$/)
      expect(rule.annotations?.summary, rule.alert).toBeTruthy()
      expect(rule.annotations?.description, rule.alert).toBeTruthy()
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/)
    }
  })

  it('has a firing and a silent case for every alert in alerts.test.yml', () => {
    const doc = parseYaml(readFileSync(join(PROMETHEUS_DIR, 'alerts.test.yml'), 'utf8')) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[]
    }
    const cases = doc.tests.flatMap((t) => t.alert_rule_test ?? [])
    for (const { alert } of loadAlertRules()) {
      const mine = cases.filter((c) => c.alertname === alert)
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${alert} has a firing case`,
      ).toBe(true)
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${alert} has a silent case`,
      ).toBe(true)
    }
  })
})
