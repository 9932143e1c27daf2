import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'

/**
 * An app's src/main.ts bundled into one file, with the Redis scripts beside it (lua/, as the
 * production bundle has them): a process starts from it in about a third of the CPU tsx takes to
 * load the sources (0.7 s against 2 s), which adds up over the dozens of workers and APIs the
 * suites start. Built once per test process and app, from the sources as they are now. As in
 * production (scripts/build-app.mjs) the app's own npm dependencies stay external (some read
 * files of their package, e.g. Swagger UI's assets): the bundle is written under the app's
 * node_modules, where they resolve; the workspace packages and their dependencies are bundled in.
 */
const built = new Map<string, Promise<string>>()

export function appBundle(appDir: string): Promise<string> {
  let b = built.get(appDir)
  if (!b) {
    b = buildBundle(appDir)
    built.set(appDir, b)
  }
  return b
}

async function buildBundle(appDir: string): Promise<string> {
  const cache = join(appDir, 'node_modules', '.cache')
  mkdirSync(cache, { recursive: true })
  const out = mkdtempSync(join(cache, 'testkit-bundle-'))
  process.once('exit', () => rmSync(out, { recursive: true, force: true }))
  const outfile = join(out, 'main.mjs')
  const { dependencies = {} } = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>
  }
  const external = Object.entries(dependencies)
    .filter(([, version]) => !version.startsWith('workspace:'))
    .map(([name]) => name)
  await build({
    entryPoints: [join(appDir, 'src', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    external,
    // CommonJS dependencies bundled into an ES module still call require().
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  })
  const lua = join(out, 'lua')
  mkdirSync(lua)
  const repo = join(appDir, '..', '..')
  const luaDirs = [
    join(appDir, 'src', 'lua'),
    ...readdirSync(join(repo, 'packages')).map((p) => join(repo, 'packages', p, 'src', 'lua')),
  ]
  for (const dir of luaDirs.filter((d) => existsSync(d)))
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.lua')))
      copyFileSync(join(dir, file), join(lua, file))
  return outfile
}
