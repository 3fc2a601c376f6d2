import type { AddressInfo, Server } from 'node:net'

/**
 * The accept queue of a server that many clients reconnect to at once (stations after a broker
 * restart, chargers after a gateway restart): Linux caps it at net.core.somaxconn (4,096 by default).
 * With Node's 511, 196 of 10,000 chargers connecting at 500/s were reset (docs/benchmarks/gateway.md).
 */
export const ACCEPT_BACKLOG = 4096

/**
 * Starts `server` (net, http or https) listening on `host:port` and resolves with the port it bound:
 * port 0 picks a free one, which tests and several instances on one machine rely on. A bind failure
 * (port taken, address unknown) rejects instead of being thrown as an unhandled 'error' event.
 * `backlog` is the kernel's queue of connections not yet accepted (Node's default: 511; the kernel caps
 * it at net.core.somaxconn): a server that thousands of clients reconnect to at once needs more.
 */
export function listen(server: Server, port: number, host: string, backlog?: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port, host, ...(backlog === undefined ? {} : { backlog }) }, () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}
