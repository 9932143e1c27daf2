import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readBody } from '@ims-importer/core/testing'

// A scriptable HTTP server on 127.0.0.1 for the cases a faithful simulator cannot produce on
// demand (a hung answer, an echoing proxy, exact header inspection). Contract behaviour is tested
// against the IMS simulator in contract.test.ts.

export interface StubRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

export type StubHandler = (req: StubRequest, res: ServerResponse) => void

export interface StubServer {
  url: string
  requests: StubRequest[]
  handle(handler: StubHandler): void
  close(): Promise<void>
}

export async function startStubServer(): Promise<StubServer> {
  let handler: StubHandler = (_req, res) => {
    res.writeHead(500).end()
  }
  const requests: StubRequest[] = []
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const stub = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body }
      requests.push(stub)
      handler(stub, res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    handle(next) {
      handler = next
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
}
