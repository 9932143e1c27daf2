import { createServer, request as httpRequest, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A request's whole body as text (a test receiver's; it resolves once the request has ended). */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
  })
}

export interface PassThrough {
  url: string
  /** `METHOD /path?query` of every request, in arrival order. */
  paths: string[]
  close(): Promise<void>
}

/**
 * An HTTP server on 127.0.0.1 that forwards every request unchanged to `upstream` (Host
 * included, so AK/SK signatures still verify) and records its method and path. `onRequest` sees
 * each request first (for example to keep the bodies it carries).
 */
export async function startPassThrough(
  upstream: string,
  onRequest: (req: IncomingMessage) => void = () => {},
): Promise<PassThrough> {
  const target = new URL(upstream)
  const paths: string[] = []
  const server = createServer((req, res) => {
    paths.push(`${req.method} ${req.url}`)
    onRequest(req)
    const out = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    out.on('error', () => res.destroy())
    req.pipe(out)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    paths,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
