import { join } from 'node:path'

/** docker/ and the repository root, whatever the working directory of the test run. */
export const DOCKER_DIR = join(import.meta.dirname, '..', '..')
export const REPO_ROOT = join(DOCKER_DIR, '..')
export const PROMETHEUS_DIR = join(DOCKER_DIR, 'prometheus')
export const DASHBOARD_FILE = join(DOCKER_DIR, 'grafana', 'dashboards', 'ims-importer.json')
export const ALERTS_FILE = join(PROMETHEUS_DIR, 'alerts.yml')
