import { collectDefaultMetrics, Registry } from 'prom-client'

/**
 * A dedicated registry per process (never prom-client's global one), with Node's default
 * metrics prefixed and a `service` label, so API and worker series stay apart in Prometheus.
 */
export function createMetricsRegistry(service: string, options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry()
  registry.setDefaultLabels({ service })
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'ims_importer_' })
  return registry
}
