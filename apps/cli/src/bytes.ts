const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const

/** A byte count in binary units, three significant digits: 9094299648 -> "8.47 GiB". */
export function formatBytes(bytes: number): string {
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2
  return `${value.toFixed(digits)} ${UNITS[unit]}`
}
