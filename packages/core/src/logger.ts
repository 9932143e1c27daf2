import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino'

export type { Logger }

/**
 * Paths pino removes before a line is written. Secrets live in these fields wherever they
 * appear: request headers, IMS credentials, config objects, API keys.
 */
export const REDACT_PATHS = [
  'authorization',
  'password',
  'token',
  'secret',
  'sk',
  'ak',
  'apiKey',
  'api_key',
  'apiKeys',
  '*.authorization',
  '*.Authorization',
  '*.password',
  '*.token',
  '*.secret',
  '*.sk',
  '*.ak',
  '*.apiKey',
  '*.api_key',
  '*.apiKeys',
  '*.securityToken',
  '*.callbackSecret',
  'req.headers.authorization',
  'req.headers["x-auth-token"]',
  'req.headers["x-subject-token"]',
  'req.headers["x-security-token"]',
  'req.headers.cookie',
  'res.headers["x-subject-token"]',
  'headers.authorization',
  'headers["x-auth-token"]',
  'headers["x-security-token"]',
  'auth.password',
  'auth.sk',
  'auth.ak',
  'auth.securityToken',
  'credentials',
  '*.credentials',
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
