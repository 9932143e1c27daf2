#!/usr/bin/env node
// Bundles an app's src/main.ts into dist/main.js for production images: workspace packages
// (which export TypeScript sources) are bundled in; npm dependencies stay external and are
// installed by `pnpm deploy --prod`.
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'

const app = process.cwd()
await build({
  entryPoints: [`${app}/src/main.ts`],
  outfile: `${app}/dist/main.js`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [
    {
      name: 'external-npm-deps',
      setup(b) {
        // Bare specifiers that are not our workspace packages are left to node_modules.
        b.onResolve({ filter: /^[^./]/ }, (args) =>
          args.path.startsWith('@ims-importer/') || args.path === 'ims-simulator'
            ? undefined
            : { external: true },
        )
      },
    },
  ],
})

// Redis scripts are .lua files read at run time (core's loadLua): every package's src/lua folder
// goes to dist/lua, beside the bundle, where `new URL('./lua/', import.meta.url)` now points.
const root = join(app, '..', '..')
const luaDirs = [
  join(app, 'src', 'lua'),
  ...readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p, 'src', 'lua')),
]
const out = join(app, 'dist', 'lua')
mkdirSync(out, { recursive: true })
const seen = new Map()
for (const dir of luaDirs.filter((d) => existsSync(d)))
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.lua'))) {
    if (seen.has(file))
      throw new Error(`lua script ${file} is in both ${seen.get(file)} and ${dir}: names must be unique`)
    seen.set(file, dir)
    copyFileSync(join(dir, file), join(out, file))
  }
