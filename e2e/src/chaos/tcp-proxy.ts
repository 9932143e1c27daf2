import { createConnection, createServer, type Socket } from 'node:net'

/**
 * A TCP proxy in front of Redis, so a test can make Redis unreachable without touching the
 * server or its data: `cut()` resets every open connection and every new one (clients see
 * ECONNRESET / connection closed, as across a network failure that answers with RST);
 * `restore()` lets connections through again.
 */
export interface TcpProxy {
  /** redis://127.0.0.1:<proxy port> */
  url: string
  cut(): void
  restore(): void
  close(): Promise<void>
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let open = true
  const sockets = new Set<Socket>()
  const track = (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => {})
  }
  const server = createServer((client) => {
    track(client)
    if (!open) {
      client.resetAndDestroy()
      return
    }
    const upstream = createConnection({ host: targetHost, port: targetPort })
    track(upstream)
    client.pipe(upstream)
    upstream.pipe(client)
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end)
    upstream.on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    url: `redis://127.0.0.1:${port}`,
    cut: () => {
      open = false
      for (const s of sockets) s.resetAndDestroy()
    },
    restore: () => {
      open = true
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
