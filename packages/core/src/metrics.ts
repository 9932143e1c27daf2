import { collectDefaultMetrics, Registry } from 'prom-client'

/**
 * prom-client's default gauges that end in `_total`, which Prometheus' naming rules reserve for
 * counters (`promtool check metrics` rejects them). The same counts stay available without the
 * suffix, per type: `ims_importer_nodejs_active_handles`, `_requests`, `_resources`.
 */
const MISNAMED_DEFAULT_GAUGES = [
  'ims_importer_nodejs_active_handles_total',
  'ims_importer_nodejs_active_requests_total',
  'ims_importer_nodejs_active_resources_total',
]

/**
 * A dedicated registry per process (never prom-client's global one), with Node's default
 * metrics prefixed and a `service` label, so API and worker series stay apart in Prometheus.
 */
export function createMetricsRegistry(service: string, options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry()
  registry.setDefaultLabels({ service })
  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix: 'ims_importer_' })
    for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name)
  }
  return registry
}
