import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
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
 * Decides each request of a pass-through: `forward()` passes it on (at once or later), or the
 * intercept answers it on `res` itself (a fault) and never forwards it.
 */
export type Intercept = (req: IncomingMessage, res: ServerResponse, forward: () => void) => void

/**
 * An HTTP server on 127.0.0.1 that forwards requests unchanged to `upstream` (Host included, so
 * AK/SK and OBS signatures still verify) and records the method and path of every one. `intercept`
 * sees each request first; by default it forwards them all.
 */
export async function startPassThrough(
  upstream: string,
  intercept: Intercept = (_req, _res, forward) => forward(),
): Promise<PassThrough> {
  const target = new URL(upstream)
  const paths: string[] = []
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const out = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    out.on('error', () => res.destroy())
    req.pipe(out)
  }
  const server = createServer((req, res) => {
    paths.push(`${req.method} ${req.url}`)
    intercept(req, res, () => forward(req, res))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    paths,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
