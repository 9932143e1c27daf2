import osVersionData from '../../data/os-versions.json' with { type: 'json' }
import { similarity } from './similarity.js'

/**
 * The `os_version` values IMS documents for a system disk image (131, in list order), copied
 * verbatim from "Values of Related Parameters", Table 1; see `data/os-versions.json` for the
 * source. IMS compares them verbatim: case and spacing matter ("Redhat", "server"/"Server").
 */
export const OS_VERSIONS: readonly string[] = Object.freeze(Object.values(osVersionData.families).flat())

// Spellings people use for the same thing, folded before comparing.
const ALIASES: [RegExp, string][] = [
  [/\b(x86[_-]64|amd64|x64|64[\s-]*bits?)\b/g, '64bit'],
  [/\b(i[36]86|32[\s-]*bits?)\b/g, '32bit'],
  [/\bred[\s-]*hat\b/g, 'redhat'],
  [/\brhel\b/g, 'redhat'],
  [/\bsles\b/g, 'suse linux enterprise server'],
  [/\b(oel|ol)\b/g, 'oracle linux server release'],
  [/\bwin\b/g, 'windows'],
  [/\bdebian\b/g, 'debian gnu/linux'],
]

function normalize(value: string): string {
  let out = value.toLowerCase()
  for (const [pattern, replacement] of ALIASES) out = out.replace(pattern, replacement)
  // "centos7" -> "centos 7", but not "sp5" or "64bit"
  return out
    .replace(/\b([a-z]{3,})(\d)/g, '$1 $2')
    .replace(/\s+/g, ' ')
    .trim()
}

function tokens(value: string): string[] {
  return value.split(/[\s/]+/).filter((t) => t.length > 0)
}

const isVersion = (token: string) => /^\d+(\.\d+)*$/.test(token)

/** The input's version, or a more exact one: "10" matches "10.0.0", "7.9" does not match "7". */
const versionMatches = (input: string, candidate: string) =>
  input === candidate || candidate.startsWith(`${input}.`)

/** How well an input token matches a candidate token: exact 1, a less exact version 0.8, else spelling. */
function tokenMatch(input: string, candidate: string): number {
  if (input === candidate) return 1
  if (isVersion(input) || isVersion(candidate)) return versionMatches(input, candidate) ? 0.8 : 0
  const s = similarity(input, candidate)
  return s >= 0.5 ? s * 0.7 : 0
}

function tokenSimilarity(input: string[], candidate: string[]): number {
  if (input.length === 0 || candidate.length === 0) return 0
  let matched = 0
  for (const t of input) matched += Math.max(...candidate.map((c) => tokenMatch(t, c)))
  return (2 * matched) / (input.length + candidate.length)
}

const PREPARED = OS_VERSIONS.map((value) => {
  const normal = normalize(value)
  const t = tokens(normal)
  return {
    value,
    compact: normal.replace(/ /g, ''),
    tokens: t,
    family: t[0] ?? '',
    versions: t.filter(isVersion),
  }
})

const MAX_INPUT = 2 * Math.max(...OS_VERSIONS.map((v) => v.length))

// Below this score a "suggestion" is noise; nothing is suggested rather than something wrong.
const MIN_SCORE = 0.45

/**
 * The documented os_version values closest to `input`, best first (at most `count`). Compares
 * case- and spacing-insensitively, folds common spellings ("64 bit", "RHEL", "Red Hat"), and
 * mixes whole-string edit distance, token overlap and bonuses for the same family and version;
 * ties keep the documented order. Returns nothing rather than unrelated values.
 */
export function suggestOsVersions(input: string, count = 3): string[] {
  // Edit distance costs length x length: a value far longer than any OS name gets no guess.
  if (input.length > MAX_INPUT) return []
  const normal = normalize(input)
  const compact = normal.replace(/ /g, '')
  const inputTokens = tokens(normal)
  const inputVersions = inputTokens.filter(isVersion)
  if (compact.length === 0 || count <= 0) return []
  // The family name and the version are what people get most nearly right: a candidate of the
  // same family gets a bonus, and another if it also carries the version asked for.
  const score = (c: (typeof PREPARED)[number]) => {
    if (c.compact === compact) return 2
    const family = inputTokens.some((t) => similarity(t, c.family) >= 0.75)
    const version =
      inputVersions.length > 0 && inputVersions.every((v) => c.versions.some((cv) => versionMatches(v, cv)))
    return (
      0.4 * similarity(compact, c.compact) +
      0.4 * tokenSimilarity(inputTokens, c.tokens) +
      (family ? 0.2 : 0) +
      (family && version ? 0.2 : 0)
    )
  }
  return PREPARED.map((c, index) => ({ value: c.value, index, score: score(c) }))
    .filter((c) => c.score >= MIN_SCORE)
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, count)
    .map((c) => c.value)
}
