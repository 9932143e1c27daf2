#!/usr/bin/env node
// Bundles an app's src/main.ts into dist/main.js for production images: workspace packages
// (which export TypeScript sources) are bundled in; npm dependencies stay external and are
// installed by `pnpm deploy --prod`.
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
