/**
 * A baseline process's shutdown: on SIGTERM or SIGINT, `closers` run one after the other (the
 * first to fail skips the rest), then the process exits 0.
 */
export function exitOnSignal(...closers: Array<() => Promise<unknown>>): void {
  const stop = () => {
    closers
      .reduce<Promise<unknown>>((done, close) => done.then(close), Promise.resolve())
      .finally(() => process.exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
