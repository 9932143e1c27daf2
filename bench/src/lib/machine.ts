import { spawnSync } from 'node:child_process'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { redisServerVersion } from './redis.js'

export interface MachineInfo {
  cpuModel: string
  cores: number
  memoryGiB: number
  os: string
  node: string
  redis: string
  date: string
  gitCommit: string
  /** True when the work tree had uncommitted changes (to any file) at the start. */
  gitDirty: boolean
  loadAverage1m: number
}

export function machineInfo(root: string): MachineInfo {
  const git = (...args: string[]) =>
    spawnSync('git', args, { cwd: root, encoding: 'utf8' }).stdout?.trim() ?? ''
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os: `${process.platform} ${release()}`,
    node: process.version,
    redis: redisServerVersion(),
    date: new Date().toISOString(),
    gitCommit: git('rev-parse', 'HEAD') || 'unknown',
    gitDirty: git('status', '--porcelain').length > 0,
    loadAverage1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  }
}
