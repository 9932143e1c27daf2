/** The exit status of `ims-importer`, part of its contract with scripts. */
export const ExitCode = {
  /** Everything accepted (and, when waited for, succeeded or cancelled). */
  ok: 0,
  /** At least one import failed or at least one input line was rejected. */
  failures: 1,
  /** Bad arguments or configuration (missing key, unreadable file). */
  usage: 2,
  /** The API refused the request as a whole or could not be reached. */
  api: 3,
  /** A bug in the CLI itself. */
  internal: 4,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]
