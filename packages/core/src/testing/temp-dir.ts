import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Runs `use` (synchronous) with a fresh directory under the OS temp directory, named
 * `<label>-…`; the directory is removed afterwards, whether `use` returns or throws.
 */
export function withTempDir(label: string, use: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), `${label}-`))
  try {
    use(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
