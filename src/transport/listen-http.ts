import type { Server as HttpServer } from 'node:http';
import { listenFailure } from './listen-failure.js';

/**
 * Listens on `HOST:PORT` (IPv6 hosts in brackets) and answers the port bound. Apart from the
 * servers' modules, so that a primary, which serves only HTTP, does not load gRPC and Cedar.
 */
export function listenHttp(server: HttpServer, hostPort: string): Promise<number> {
  const host = hostOf(hostPort);
  const port = Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(listenFailure(hostPort, '--http-listen / httpListen', err)));
    server.listen(port, host.replace(/^\[|\]$/g, ''), () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

export function hostOf(hostPort: string): string {
  return hostPort.slice(0, hostPort.lastIndexOf(':'));
}
