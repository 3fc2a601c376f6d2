import type { AddressInfo, Server } from 'node:net'

/**
 * Starts `server` (net, http or https) listening on `host:port` and resolves with the port it bound:
 * port 0 picks a free one, which tests and several instances on one machine rely on. A bind failure
 * (port taken, address unknown) rejects instead of being thrown as an unhandled 'error' event.
 */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}
