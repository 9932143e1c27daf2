import { readFileSync } from 'node:fs'
import { DASHBOARD_FILE } from './paths.js'

export interface DashboardTarget {
  refId: string
  expr: string
  datasource?: { type?: string; uid?: string }
}

export interface DashboardPanel {
  id: number
  type: string
  title: string
  datasource?: { type?: string; uid?: string }
  targets?: DashboardTarget[]
  panels?: DashboardPanel[]
}

export interface Dashboard {
  uid: string
  title: string
  panels: DashboardPanel[]
  templating: { list: { name: string; type: string; query?: unknown; definition?: string }[] }
}

export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard
}

/** Every panel that shows data (rows excluded, panels inside collapsed rows included). */
export function dataPanels(dashboard: Dashboard): DashboardPanel[] {
  return dashboard.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]))
}

/** Values the test gives Grafana's variables when it runs a panel's query itself. */
const VARIABLES: Record<string, string> = {
  target: '.*',
  __rate_interval: '1m',
  __interval: '15s',
  __range: '5m',
}

/**
 * A panel expression as Prometheus would receive it from Grafana with every target selected.
 * `$1` in label_replace is not a variable and stays.
 */
export function substituteVariables(expr: string): string {
  const out = expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (match, braced: string | undefined, plain: string) => {
    const name = braced ?? plain
    if (/^\d+$/.test(name)) return match
    const value = VARIABLES[name]
    if (value === undefined) throw new Error(`unknown dashboard variable $${name} in: ${expr}`)
    return value
  })
  return out
}
