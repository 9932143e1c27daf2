import { type TenantsWatch, watchTenantsFile } from '@ims-importer/core'
import type { ApiDeps } from './deps.js'

/**
 * Follows TENANTS_FILE while the API runs (core watchTenantsFile): every TENANTS_RELOAD_MS, and
 * on SIGHUP by its check() (main.ts). A changed, valid file replaces the keys and policies
 * requests are judged by (deps.tenants), from the next request on; ADMIN_API_KEYS stay beside the
 * file's admins. A file that does not parse is logged, with the field it names, and the policy in
 * use stays. `env`: where its `env:NAME` references are read (main.ts hands the process's). Null
 * without a tenants file (API_KEYS tenants are read at start only).
 */
export function followTenantsFile(
  deps: ApiDeps,
  env: Record<string, string | undefined>,
): TenantsWatch | null {
  const { config, log } = deps
  if (!config.tenantsFile) return null
  const watch = watchTenantsFile({
    file: config.tenantsFile,
    env,
    targets: config.targets,
    everyMs: config.tenantsReloadMs,
    // The content the config was read from: a change during start-up is applied at the first look.
    ...(config.tenantsDigest ? { startedOn: config.tenantsDigest } : {}),
    onChange: (t) => {
      deps.tenants.current = {
        apiKeys: t.apiKeys,
        adminKeys: [...config.envAdminKeys, ...t.adminKeys],
        tenantPolicies: t.policies,
      }
      log.info(
        { tenants: [...t.policies.keys()], tenant_keys: t.apiKeys.length, admin_keys: t.adminKeys.length },
        'tenants file reloaded: its keys and policies apply from the next request',
      )
    },
    onError: (reason) => log.error({ reason }, 'tenants file not reloaded: the policy in use stays'),
  })
  return watch
}
