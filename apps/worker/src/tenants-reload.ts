import { type TenantsWatch, watchTenantsFile } from '@ims-importer/core'
import type { WorkerDeps } from './deps.js'

/**
 * Follows TENANTS_FILE while the worker runs (core watchTenantsFile): every TENANTS_RELOAD_MS, and
 * on SIGHUP by its check() (main.ts). A changed, valid file's policies replace deps.tenants.current:
 * the next re-check before a POST and the next callback signature use them. A file that does not
 * parse is logged with the field it names, and the policies in use stay. `env`: where its
 * `env:NAME` references are read (main.ts hands the process's). Null without a tenants file.
 */
export function followTenantsFile(
  deps: Pick<WorkerDeps, 'config' | 'log' | 'tenants'>,
  env: Record<string, string | undefined>,
): TenantsWatch | null {
  const { config, log } = deps
  if (!config.tenantsFile) return null
  return watchTenantsFile({
    file: config.tenantsFile,
    env,
    targets: config.targets.map((t) => t.name),
    everyMs: config.tenantsReloadMs,
    // The content the config was read from: a change during start-up is applied at the first look.
    ...(config.tenantsDigest ? { startedOn: config.tenantsDigest } : {}),
    onChange: (t) => {
      deps.tenants.current = t.policies
      log.info({ tenants: [...t.policies.keys()] }, 'tenants file reloaded: its policies apply from now on')
    },
    onError: (reason) => log.error({ reason }, 'tenants file not reloaded: the policies in use stay'),
  })
}
