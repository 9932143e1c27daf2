import { Writable } from 'node:stream'
import { createLogger } from '@ims-importer/core'
import { describe, expect, inject, it } from 'vitest'
import { PAGE_EXAMPLE, startTestApi } from './helpers.js'

describe('request logs', () => {
  it('carry the request id, tenant and import id, and never the API key', async () => {
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
      const res = await api.app.inject({
        method: 'POST',
        url: '/v1/imports',
        headers: { ...api.auth(A), 'x-request-id': 'log-req-1' },
        payload: PAGE_EXAMPLE,
      })
      const id = res.json().id
      await api.app.inject({ url: '/v1/imports', headers: { authorization: 'Bearer wrong-secret-key' } })
      const mine = lines.filter((l) => l.request_id === 'log-req-1')
      const accepted = mine.find((l) => l.msg === 'import accepted')
      expect(accepted).toMatchObject({ tenant: A, import_id: id, request_id: 'log-req-1' })
      const completed = mine.find((l) => l.msg === 'request completed')
      expect(completed).toMatchObject({ tenant: A, import_id: id })
      const all = JSON.stringify(lines)
      expect(all).not.toContain(`key-${A}`)
      expect(all).not.toContain('wrong-secret-key')
    } finally {
      await api.close()
    }
  })
})
