import type { DestinationStream } from 'pino'

/** Every line a pino logger writes, kept in memory (a test's view of the process's log output). */
export interface LogCapture {
  stream: DestinationStream
  lines: string[]
  text(): string
  /** Parsed lines whose `msg` equals the message. */
  find(msg: string): Record<string, unknown>[]
}

export function createLogCapture(): LogCapture {
  const lines: string[] = []
  return {
    stream: { write: (line: string) => void lines.push(line) },
    lines,
    text: () => lines.join(''),
    find: (msg) => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg),
  }
}
