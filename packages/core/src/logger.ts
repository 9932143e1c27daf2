import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino'

export type { Logger }

/** Field names that hold a secret wherever they appear in a logged object. */
const SECRET_FIELDS = [
  'authorization',
  'Authorization',
  'password',
  'token',
  'secret',
  'sk',
  'ak',
  'apiKey',
  'api_key',
  'apiKeys',
  'securityToken',
  'callbackSecret',
  'credentials',
  'cookie',
  'x-auth-token',
  'x-subject-token',
  'x-security-token',
]

const field = (prefix: string, name: string) =>
  /^[A-Za-z_$][\w$]*$/.test(name) ? `${prefix}${prefix ? '.' : ''}${name}` : `${prefix}["${name}"]`

/**
 * Paths pino removes before a line is written: every secret field at the top level and up to
 * four objects deep (`{ target: { auth: { sk } } }` is two deep), plus arrays of targets.
 */
export const REDACT_PATHS = [
  ...SECRET_FIELDS.flatMap((name) =>
    ['', '*', '*.*', '*.*.*', '*.*.*.*'].map((prefix) => field(prefix, name)),
  ).filter((p) => !p.startsWith('[')),
  'targets[*].auth',
]

export interface LoggerConfig {
  level: string
  name: string
}

/** The one logger factory: structured JSON, secrets redacted, constant messages by convention. */
export function createLogger(config: LoggerConfig, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    name: config.name,
    level: config.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: config.name },
    timestamp: pino.stdTimeFunctions.isoTime,
  }
  return destination ? pino(options, destination) : pino(options)
}
