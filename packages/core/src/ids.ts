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
  return `${prefix}_${encodeTime(now, 10)}${randomPart(now)}`
}

/**
 * The random part: fresh per millisecond, and within one millisecond the previous one plus one
 * (ULID's monotonic rule), so ids made one after another in this process sort in that order even
 * within a millisecond (listings are newest first by creation ms, then by id).
 */
let lastMs = -1
let lastRandom = ''
function randomPart(ms: number): string {
  const next = ms === lastMs ? increment(lastRandom) : null
  lastRandom = next ?? encodeRandom(16)
  lastMs = ms
  return lastRandom
}

/** `text` + 1 in base 32 (Crockford); null when it is all Z (a fresh draw then). */
function increment(text: string): string | null {
  const chars = text.split('')
  for (let i = chars.length - 1; i >= 0; i--) {
    const at = ALPHABET.indexOf(chars[i] as string)
    if (at < ALPHABET.length - 1) {
      chars[i] = ALPHABET[at + 1] as string
      return chars.join('')
    }
    chars[i] = ALPHABET[0] as string
  }
  return null
}

export const ID_PATTERN = /^(imp|bat)_[0-9A-HJKMNP-TV-Z]{26}$/
