import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { chromium as playwright } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { parseApiKeys } from '../src/auth.js'
import { startTestApi, type TestApi } from './helpers.js'

/**
 * The queue UI rendered by a real browser: Debian's chromium, headless, against the API on a
 * free port with the real Redis. Skipped where no chromium is installed (a developer laptop);
 * .ci/run installs it, and under CI a missing binary fails the test instead.
 */
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))
const IN_CI = process.env.CI === 'true'

// As this machine's probe starts it: no sandbox (root), and nothing that reaches the network.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

const ADMIN_KEY = `admin-${randomBytes(12).toString('hex')}`

if (!CHROMIUM && !IN_CI)
  console.warn(
    'admin-queues.browser.test.ts: skipped, no chromium binary (/usr/bin/chromium); `apt-get install -y --no-install-recommends chromium` runs it',
  )

describe('queue UI in headless Chromium', () => {
  it.runIf(!CHROMIUM && IN_CI)('has chromium under CI (.ci/run installs it)', () => {
    expect(CHROMIUM, 'chromium missing under CI').toBeDefined()
  })

  describe.runIf(CHROMIUM)('against a real API', () => {
    let api: TestApi
    let base: string
    let browser: Awaited<ReturnType<typeof playwright.launch>>

    beforeAll(async () => {
      // The test API (its own namespace, fresh targets) on a real port.
      api = await startTestApi(inject('redisUrl'), {
        adminKeys: parseApiKeys(`ops:${ADMIN_KEY}`, 'ADMIN_API_KEYS'),
      })
      await api.app.listen({ host: '127.0.0.1', port: 0 })
      base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`
      browser = await playwright.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
    })

    afterAll(async () => {
      await browser?.close()
      await api?.close()
    })

    it('lists every queue by name to an admin signed in with HTTP Basic', async () => {
      const context = await browser.newContext({ httpCredentials: { username: 'ops', password: ADMIN_KEY } })
      try {
        const page = await context.newPage()
        const response = await page.goto(`${base}/admin/queues`)
        expect(response?.status()).toBe(200)
        const [t1, t2] = api.targets
        const names = [`submit-${t1}`, `poll-${t1}`, `submit-${t2}`, `poll-${t2}`, 'callback', 'reconcile']
        // Each queue is a link to its own page, named by the queue: rendered from the board's API.
        for (const name of names)
          await expect
            .poll(() => page.locator(`a[href$="/queue/${name}"]`).count(), { timeout: 15_000 })
            .toBeGreaterThan(0)
        for (const name of names)
          expect(await page.getByText(name, { exact: true }).first().isVisible(), name).toBe(true)
        expect(await page.title()).toBe('ims-importer queues')
      } finally {
        await context.close()
      }
    })

    it('gives a browser without the admin key the 401 and nothing of the board', async () => {
      const tenantKey = `key-${api.tenants[0]}`
      for (const httpCredentials of [undefined, { username: 'ops', password: tenantKey }]) {
        const context = await browser.newContext(httpCredentials ? { httpCredentials } : {})
        try {
          const page = await context.newPage()
          const answered = page.waitForResponse((r) => new URL(r.url()).pathname === '/admin/queues')
          // Chromium gives up on a Basic challenge it cannot answer (net::ERR_INVALID_AUTH_CREDENTIALS):
          // the answer is read from the response itself.
          await page.goto(`${base}/admin/queues`).catch(() => null)
          const response = await answered
          expect(response.status()).toBe(401)
          expect(response.headers()['www-authenticate']).toMatch(/^Basic realm=/)
          expect(await response.text()).not.toContain('submit-')
        } finally {
          await context.close()
        }
      }
    })
  })
})
