import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { ALERTS_FILE } from './paths.js'

export interface AlertRule {
  alert: string
  expr: string
  for?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

export function loadAlertRules(): AlertRule[] {
  const doc = parseYaml(readFileSync(ALERTS_FILE, 'utf8')) as { groups: { rules: AlertRule[] }[] }
  return doc.groups.flatMap((g) => g.rules)
}
