import { Writable } from 'node:stream'
import { createLogger } from '@ims-importer/core'
import { describe, expect, inject, it } from 'vitest'
import { PAGE_EXAMPLE, startTestApi } from './helpers.js'

describe('request logs', () => {
  it('are one line per request with the request id, tenant and import id, and never the API key', async () => {
    const lines: Record<string, unknown>[] = []
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
        done()
      },
    })
    const api = await startTestApi(inject('redisUrl'), {}, (d) => ({
      ...d,
      log: createLogger({ name: 'api', level: 'info' }, sink),
    }))
    try {
      const [A] = api.tenants
      const res = await api.post('/v1/imports', A, PAGE_EXAMPLE, {
        'x-request-id': 'log-req-1',
        'idempotency-key': 'log-key-1',
      })
      expect(res.statusCode).toBe(202)
      const id = res.json().id
      const replay = await api.post('/v1/imports', A, PAGE_EXAMPLE, {
        'x-request-id': 'log-req-2',
        'idempotency-key': 'log-key-1',
      })
      expect(replay.json().id).toBe(id)
      await api.app.inject({
        url: '/v1/imports',
        headers: { authorization: 'Bearer wrong-secret-key', 'x-request-id': 'log-req-3' },
      })
      const mine = lines.filter((l) => l.request_id === 'log-req-1')
      expect(mine).toHaveLength(1)
      expect(mine[0]).toMatchObject({
        level: 30,
        msg: 'request completed',
        method: 'POST',
        route: '/v1/imports',
        status_code: 202,
        tenant: A,
        import_id: id,
        target: api.targets[0],
      })
      expect(typeof mine[0]?.duration_ms).toBe('number')
      const replayed = lines.filter((l) => l.request_id === 'log-req-2')
      expect(replayed).toEqual([expect.objectContaining({ import_id: id, replayed: true, status_code: 202 })])
      const refused = lines.filter((l) => l.request_id === 'log-req-3')
      expect(refused).toEqual([expect.objectContaining({ msg: 'request completed', status_code: 401 })])
      const all = JSON.stringify(lines)
      expect(all).not.toContain(`key-${A}`)
      expect(all).not.toContain('wrong-secret-key')
    } finally {
      await api.close()
    }
  })

  it('censor secrets nested at any depth and in child bindings, without changing the logged object', () => {
    const lines: string[] = []
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk))
        done()
      },
    })
    const log = createLogger({ name: 'api', level: 'info' }, sink)
    const deep = { a: { b: { c: { d: { e: { target: { auth: { sk: 'SECRET-sk-9' } } } } } } } }
    const err = Object.assign(new Error('boom'), { detail: { password: 'SECRET-pw-9' } })
    log.child({ ctx: { token: 'SECRET-tok-9' } }).warn({ deep, list: [[{ ak: 'SECRET-ak-9' }]], err }, 'x')
    const line = lines.join('')
    expect(line.match(/SECRET-[a-z]+-\d/g) ?? []).toEqual([])
    expect(JSON.parse(line).err).toMatchObject({ type: 'Error', message: 'boom' })
    expect(deep.a.b.c.d.e.target.auth.sk).toBe('SECRET-sk-9')
  })
})
