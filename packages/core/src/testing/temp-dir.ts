import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Runs `use` with a fresh directory under the OS temp directory, named `<label>-…`, and returns
 * what it returns. The directory is removed afterwards, whether `use` returns or throws; when
 * `use` returns a promise (an async callback), once that promise settles.
 */
export function withTempDir<T>(label: string, use: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), `${label}-`))
  const remove = () => rmSync(dir, { recursive: true, force: true })
  let result: T
  try {
    result = use(dir)
  } catch (error) {
    remove()
    throw error
  }
  if (result instanceof Promise) return result.finally(remove) as T
  remove()
  return result
}
