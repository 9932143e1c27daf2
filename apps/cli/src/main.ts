// Entry point: the only place that reads process.env and process.argv.
import { runCli } from './cli.js'

// Under a package script (`pnpm ims-importer ...`) the process runs in the package directory;
// INIT_CWD is where the user typed the command, which is what relative file names mean.
const cwd = (process.env.npm_lifecycle_event && process.env.INIT_CWD) || process.cwd()

process.exitCode = await runCli(process.argv.slice(2), process.env, {
  stdout: process.stdout,
  stderr: process.stderr,
  cwd,
})
