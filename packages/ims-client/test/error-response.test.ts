import { describe, expect, it } from 'vitest'
import { parseErrorBody, parseRetryAfter } from '../src/error-response.js'

describe('parseErrorBody', () => {
  it('reads the IMS shape', () => {
    expect(parseErrorBody('{"error":{"code":"IMG.0024","message":"bad type"}}', 'hdr-1')).toEqual({
      code: 'IMG.0024',
      message: 'bad type',
      requestId: 'hdr-1',
    })
  })

  it('reads the gateway shape, preferring its request_id', () => {
    const body = '{"error_code":"APIG.0308","error_msg":"throttled","request_id":"body-1"}'
    expect(parseErrorBody(body, 'hdr-1')).toEqual({
      code: 'APIG.0308',
      message: 'throttled',
      requestId: 'body-1',
    })
  })

  it('reads the IAM shape, whose code is a number', () => {
    const body =
      '{"error":{"code":401,"message":"The username or password is wrong.","title":"Unauthorized"}}'
    expect(parseErrorBody(body, null)).toMatchObject({
      code: '401',
      message: 'The username or password is wrong.',
    })
  })

  it('survives non-JSON and unknown JSON bodies', () => {
    expect(parseErrorBody('<html>502 Bad Gateway</html>', 'r')).toEqual({
      code: null,
      message: 'non-JSON body: <html>502 Bad Gateway</html>',
      requestId: 'r',
    })
    expect(parseErrorBody('', null)).toEqual({ code: null, message: null, requestId: null })
    expect(parseErrorBody('{"oops":1}', null).code).toBeNull()
    expect(parseErrorBody('x'.repeat(5000), null).message?.length).toBeLessThan(400)
  })
})

describe('parseRetryAfter', () => {
  const now = Date.parse('2024-01-01T00:00:00Z')
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3', now)).toBe(3000)
    expect(parseRetryAfter('0.5', now)).toBe(500)
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:10 GMT', now)).toBe(10_000)
    expect(parseRetryAfter('Sun, 31 Dec 2023 23:00:00 GMT', now)).toBe(0)
  })
  it('returns null when absent or unreadable', () => {
    expect(parseRetryAfter(null, now)).toBeNull()
    expect(parseRetryAfter('soon', now)).toBeNull()
    expect(parseRetryAfter('', now)).toBeNull()
  })
})
