import { readFileSync } from 'node:fs'
import { type LuaScript, luaScript } from './redis.js'

/** `-- @include <name>` on a line of its own: the text of `<name>.lua` from the same folder. */
const INCLUDE = /^--\s*@include\s+([A-Za-z0-9_-]+)\s*$/gm

/**
 * Loads the Redis script `<name>.lua` from `dir` (pass `new URL('./lua/', import.meta.url)`).
 * Every script is a file with a header naming its KEYS, ARGV and reply; shared functions live
 * in files of their own and are pulled in with `-- @include <name>` (as BullMQ's commands do).
 * The bundle of an app (scripts/build-app.mjs) copies every package's lua folder to dist/lua,
 * beside dist/main.js, so the same call finds the files there.
 */
export function loadLua(dir: URL, name: string): LuaScript {
  return luaScript(readLuaText(dir, name, []))
}

function readLuaText(dir: URL, name: string, including: string[]): string {
  if (including.includes(name)) throw new Error(`lua: ${[...including, name].join(' -> ')} includes itself`)
  const text = readFileSync(new URL(`${name}.lua`, dir), 'utf8')
  return text.replace(INCLUDE, (_line, included: string) => readLuaText(dir, included, [...including, name]))
}

/** Core's own scripts (packages/core/src/lua; dist/lua in an app bundle). */
export const CORE_LUA_DIR = new URL('./lua/', import.meta.url)
