import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../src/logger.js'

function capture() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk))
      done()
    },
  })
  return { lines, log: createLogger({ name: 'test', level: 'info' }, stream) }
}

describe('createLogger', () => {
  it('redacts secrets at the top level and nested up to four objects deep, and in arrays of targets', () => {
    const { lines, log } = capture()
    log.info(
      {
        password: 'SECRET-pw-0',
        target: { name: 'eu-de', auth: { type: 'aksk', ak: 'SECRET-ak-1', sk: 'SECRET-sk-1' } },
        config: { targets: { x: { auth: { password: 'SECRET-pw-1' } } } },
        targets: [{ name: 'a', auth: { type: 'token', password: 'SECRET-pw-2' } }],
        req: { headers: { authorization: 'Bearer SECRET-key-1', 'x-auth-token': 'SECRET-tok-1' } },
        res: { headers: { 'x-subject-token': 'SECRET-tok-2' } },
        apiKey: 'SECRET-key-2',
        callbackSecret: 'SECRET-cb-1',
      },
      'config loaded',
    )
    const line = lines.join('')
    expect(line).toContain('config loaded')
    expect(line).toContain('eu-de')
    expect(line.match(/SECRET-[a-z]+-\d/g) ?? []).toEqual([])
    expect(line).toContain('[redacted]')
  })
})
