import { describe, expect, it } from 'vitest'
import { ExitCode } from '../src/exit-codes.js'
import { cli as run } from './helpers.js'

const KEY = { IMS_IMPORTER_API_KEY: 'sk-secret-for-args-test' }

describe('command line', () => {
  it('prints the usage with --help and exits 0', async () => {
    const r = await run(['--help'])
    expect(r.code).toBe(ExitCode.ok)
    expect(r.stdout).toContain('Usage: ims-importer <command>')
    expect(r.stdout).toContain('Exit status')
  })

  it('refuses bad usage with one line on stderr and exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [[], /Usage/],
      [['frobnicate'], /^ims-importer: unknown command "frobnicate" \(try --help\)\n$/],
      [['list', '--wait'], /^ims-importer: option --wait does not apply to list\n$/],
      [['list', '--bogus'], /^ims-importer: .*--bogus.* \(try --help\)\n$/],
      [['submit'], /^ims-importer: submit needs a file\n$/],
      [
        ['submit', 'a.jsonl', '--chunk-size', '5000'],
        /--chunk-size must be an integer from 1 to 1000, got "5000"/,
      ],
      [['list', '--status', 'done'], /--status must be one of queued, submitting/],
      [['status'], /status needs an import or batch id/],
      [['submit', '/nonexistent/x.jsonl'], /^ims-importer: file not found: \/nonexistent\/x.jsonl\n$/],
      [['list', '--url', 'ftp://host'], /must be http\(s\)/],
    ]
    for (const [argv, message] of cases) {
      const r = await run(argv, KEY)
      expect(r.code, argv.join(' ')).toBe(ExitCode.usage)
      expect(r.stderr, argv.join(' ')).toMatch(message)
      expect(r.stderr).not.toContain('    at ')
    }
  })

  it('asks for the API key without printing anything secret', async () => {
    const r = await run(['list'])
    expect(r.code).toBe(ExitCode.usage)
    expect(r.stderr).toBe('ims-importer: no API key: set IMS_IMPORTER_API_KEY (or pass --api-key)\n')
  })

  it('refuses credentials in the URL', async () => {
    const r = await run(['list', '--url', 'http://user:pw@127.0.0.1:1'], KEY)
    expect(r.code).toBe(ExitCode.usage)
    expect(r.stderr).not.toContain('pw')
  })
})
