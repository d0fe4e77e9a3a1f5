/** `gatehouse call` as an operator runs it: flags or a proto3 JSON file in, a readable answer out. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { frontend } from '../support/check-client.js';
import { cleanup, runGatehouse, scratchDir, startGatehouse, type ServerProcess } from '../support/server-process.js';

let server: ServerProcess;

beforeAll(async () => {
  server = await startGatehouse();
});

afterAll(cleanup);

const call = (...args: string[]) => runGatehouse(['call', '--target', server.grpcTarget, ...args]);

test('an allowed request prints ALLOW with the headers Envoy applies, exit 0', async () => {
  const result = await call('--principal', frontend, '--host', 'orders.shop.svc.cluster.local:8080', '--path', '/api/orders/42');
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^ALLOW {2}grpc-status 0 \(OK\)/);
  expect(result.stdout).toContain(`header x-gatehouse-principal: ${frontend}  (OVERWRITE_IF_EXISTS_OR_ADD)`);
  expect(result.stdout).toContain('"policies":["frontend-reads-orders"]');
});

test('a denied request prints DENY with the HTTP status, exit 1', async () => {
  const result = await call('--host', 'orders.shop', '--path', '/api/orders/42');
  expect(result.code).toBe(1);
  expect(result.stdout).toMatch(/^DENY {2}grpc-status 16 \(UNAUTHENTICATED\)/);
  expect(result.stdout).toContain('http status: Unauthorized');
});

test('--json prints the CheckResponse in proto3 JSON', async () => {
  const result = await call('--principal', frontend, '--host', 'orders.shop', '--path', '/api/orders/1', '--header', 'x-tenant: acme', '--json');
  expect(result.code).toBe(0);
  const response = JSON.parse(result.stdout) as { status: { code: number }; okResponse: { headers: unknown[] } };
  expect(response.status.code).toBe(0);
  expect(response.okResponse.headers.length).toBeGreaterThan(0);
});

test('--request reads a CheckRequest in proto3 JSON (lowerCamelCase)', async () => {
  const file = join(await scratchDir('call'), 'request.json');
  await writeFile(
    file,
    JSON.stringify({
      attributes: {
        source: { principal: frontend },
        request: { http: { method: 'GET', path: '/api/orders/7', host: 'orders.shop', headers: { ':path': '/api/orders/7' } } },
        contextExtensions: { service: 'orders.shop' },
      },
    }),
  );
  const result = await call('--request', file);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^ALLOW/);
});

test('an unreachable target is exit 2 with the reason', async () => {
  const result = await runGatehouse(['call', '--target', '127.0.0.1:1', '--timeout', '1000']);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('gatehouse call: 127.0.0.1:1');
});
