import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..', '..')

/** Files allowed to read process.env: the edges that parse it once and pass it down. */
const ALLOWED = [
  /\/src\/main\.ts$/, // each app's entry point hands env to its config loader
  /\/src\/testing\/global-setup\.ts$/, // vitest's entry point for the test Redis
  /^scripts\//, // developer scripts are entry points too
  /^bench\//,
  /^packages\/testkit\//, // test support: the environment of the processes it spawns
]

function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path))
    else if (/\.(ts|mts|js|mjs)$/.test(name)) out.push(path)
  }
  return out
}

describe('configuration discipline', () => {
  it('no code outside the config entry points reads process.env', () => {
    const offenders = ['apps', 'packages', 'scripts', 'bench']
      .flatMap((d) => {
        try {
          return sourceFiles(join(root, d))
        } catch {
          return []
        }
      })
      .map((f) => relative(root, f))
      .filter((f) => !/\/test\//.test(f) && !ALLOWED.some((re) => re.test(f)))
      .filter((f) => /process\.env\b/.test(readFileSync(join(root, f), 'utf8')))
    expect(offenders).toEqual([])
  })
})
