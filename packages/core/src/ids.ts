import { randomBytes } from 'node:crypto'

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ' // Crockford base32, as ULID

function encodeTime(ms: number, length: number): string {
  let out = ''
  let rest = ms
  for (let i = 0; i < length; i++) {
    out = ALPHABET[rest % 32] + out
    rest = Math.floor(rest / 32)
  }
  return out
}

/** Random bytes drawn 4 KiB at a time: one CSPRNG call per 256 ids instead of one per id. */
const POOL_SIZE = 4096
let pool = randomBytes(POOL_SIZE)
let poolAt = 0

function encodeRandom(length: number): string {
  if (poolAt + length > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE)
    poolAt = 0
  }
  let out = ''
  // 256 is a multiple of 32: every character is equally likely.
  for (let i = poolAt; i < poolAt + length; i++) out += ALPHABET[(pool[i] as number) % 32]
  poolAt += length
  return out
}

/**
 * A time-sortable id (ULID layout: 10 chars of time, 16 of randomness) with a type prefix.
 * Only [A-Za-z0-9_] characters, so an import id fits an IMS tag value (max 43 characters).
 */
export function newId(prefix: 'imp' | 'bat', now = Date.now()): string {
  return `${prefix}_${encodeTime(now, 10)}${encodeRandom(16)}`
}

export const ID_PATTERN = /^(imp|bat)_[0-9A-HJKMNP-TV-Z]{26}$/
