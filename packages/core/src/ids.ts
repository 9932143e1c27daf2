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

function encodeRandom(length: number): string {
  const bytes = randomBytes(length)
  let out = ''
  for (const b of bytes) out += ALPHABET[b % 32]
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
