import { CORE_LUA_DIR, loadLua } from '../lua.js'

/** The store's Redis scripts (packages/core/src/lua; each file's header names KEYS, ARGV and the reply). */
export const scripts = {
  create: loadLua(CORE_LUA_DIR, 'create-imports'),
  admit: loadLua(CORE_LUA_DIR, 'admit-imports'),
  transition: loadLua(CORE_LUA_DIR, 'transition-import'),
  remove: loadLua(CORE_LUA_DIR, 'remove-import'),
  page: loadLua(CORE_LUA_DIR, 'page-index'),
  rateLimitTake: loadLua(CORE_LUA_DIR, 'rate-limit-take'),
  idempotencyForget: loadLua(CORE_LUA_DIR, 'idempotency-forget'),
  retainImport: loadLua(CORE_LUA_DIR, 'retain-import'),
  expireRetained: loadLua(CORE_LUA_DIR, 'expire-retained'),
} as const
