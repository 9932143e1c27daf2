#!/usr/bin/env node
// Adds up the JSON reports each package's vitest run wrote (<package>/.vitest/report.json) and
// prints one closing line. `--clean` removes old reports first, so a package that did not run
// this time cannot be counted.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const packageDirs = [
  ...['apps', 'packages'].flatMap((group) =>
    existsSync(join(root, group))
      ? readdirSync(join(root, group)).map((name) => join(root, group, name))
      : [],
  ),
  ...['docker', 'e2e', 'bench'].map((name) => join(root, name)),
]
const reports = packageDirs.map((dir) => join(dir, '.vitest', 'report.json')).filter((f) => existsSync(f))

if (process.argv.includes('--clean')) {
  for (const f of reports) rmSync(f)
  process.exit(0)
}

let passed = 0
let failed = 0
let skipped = 0
for (const report of reports) {
  const r = JSON.parse(readFileSync(report, 'utf8'))
  passed += r.numPassedTests ?? 0
  failed += (r.numFailedTests ?? 0) + (r.success === false && !r.numFailedTests ? 1 : 0)
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(failed > 0 ? 1 : 0)
