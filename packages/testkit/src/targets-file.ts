import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TargetConfig } from '@ims-importer/core'

export interface TargetsFile {
  /** Give it to a process as IMS_TARGETS_FILE. */
  path: string
  remove(): void
}

/** Writes the targets file (core's TargetsFile JSON) a spawned API or worker reads through IMS_TARGETS_FILE. */
export function writeTargetsFile(targets: TargetConfig[]): TargetsFile {
  const dir = mkdtempSync(join(tmpdir(), 'ims-test-targets-'))
  const path = join(dir, 'targets.json')
  writeFileSync(path, JSON.stringify({ targets }, null, 2))
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) }
}
