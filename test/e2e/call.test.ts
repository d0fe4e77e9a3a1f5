/** `gatehouse call` as an operator runs it: flags or a proto3 JSON file in, a readable answer out. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { frontend } from '../support/check-client.js';
import { gatehouse } from '../cli/cli.js';
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

/** The reason code of a deny, as `call` read it from dynamic_metadata. */
function reasonLine(stdout: string): string | undefined {
  return /^ {2}reason: (.*)$/m.exec(stdout)?.[1];
}

// Regression: every 403 and 401 was printed with the gRPC status message, so a bad path or a
// bad token read "denied by policy".
describe('a deny says why, and blames a policy only for a policy deny', () => {
  test.each([
    ['a bad credential', ['--token', 'not-a-jwt', '--host', 'orders.shop', '--path', '/api/orders/1'], 16, 'UNAUTHENTICATED', 'Unauthorized', /^(?!policy_denied)[a-z_]+$/],
    ['a path with an encoded slash', ['--principal', frontend, '--host', 'orders.shop', '--path', '/api/orders%2F1'], 7, 'PERMISSION_DENIED', 'Forbidden', /^bad_path$/],
    ['a policy', ['--principal', frontend, '--method', 'DELETE', '--host', 'orders.shop', '--path', '/api/orders/1'], 7, 'PERMISSION_DENIED', 'Forbidden', /^policy_denied$/],
  ])('%s', async (_name, args, grpcCode, grpcName, httpStatus, reason) => {
    const result = await call(...args);
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n')[0]).toBe(`DENY  grpc-status ${grpcCode} (${grpcName})`);
    expect(result.stdout).toContain(`http status: ${httpStatus}`);
    expect(result.stdout).not.toContain('denied by policy');
    expect(reasonLine(result.stdout)).toMatch(reason);
  });
});

describe('--print-request', () => {
  test('prints the CheckRequest that gatehouse check reads, without contacting a server', async () => {
    // Port 1 refuses connections: a call that tried would exit 2.
    const printed = await runGatehouse(['call', '--target', '127.0.0.1:1', '--print-request', '--principal', frontend, '--source-ip', '10.9.8.7', '--host', 'orders.shop', '--path', '/api/orders/1']);
    expect(printed).toMatchObject({ code: 0, stderr: '' });
    const request = JSON.parse(printed.stdout) as { attributes: { source: { principal: string; address: { socketAddress: { address: string } } } } };
    expect(request.attributes.source).toMatchObject({ principal: frontend, address: { socketAddress: { address: '10.9.8.7' } } });

    const checked = await gatehouse(['check', '--request', '-'], { input: printed.stdout });
    expect(checked.stderr).toBe('');
    expect(checked.code).toBe(0);
    expect(checked.stdout).toMatch(/^decision: +ALLOW$/m);
    expect(checked.stdout).toContain('"source":{"ip":{"__extn":{"fn":"ip","arg":"10.9.8.7"}}}');
  });

  test('--source-ip that is not an address is a usage error', async () => {
    const result = await runGatehouse(['call', '--print-request', '--source-ip', '10.0.0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('gatehouse call: --source-ip "10.0.0": not an IP address');
  });
});
