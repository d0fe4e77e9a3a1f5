import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A collector for the bench: takes OTLP/HTTP requests and answers 200 at once, counting them and
 * their bytes, so that the bench measures what exporting costs gatehouse, not a collector's
 * decoding on the same cores. (The tests' receiver, test/support/otlp-receiver.ts, decodes.)
 */
export interface OtlpSink {
  readonly endpoint: string;
  readonly requests: Map<string, { count: number; bytes: number }>;
  close(): Promise<void>;
}

/** `hang`: read each request and never answer, as a stuck collector does. */
export async function startOtlpSink(options: { hang?: boolean } = {}): Promise<OtlpSink> {
  const requests = new Map<string, { count: number; bytes: number }>();
  const server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      const path = req.url ?? '';
      const seen = requests.get(path) ?? { count: 0, bytes: 0 };
      requests.set(path, { count: seen.count + 1, bytes: seen.bytes + bytes });
      if (options.hang) return;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
