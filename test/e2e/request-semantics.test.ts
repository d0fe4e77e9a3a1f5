/**
 * Issue #14's request-semantics classes through the real server: `;` path parameters (the `..;/`
 * bypass Tomcat, Jetty and Spring serve), `#` in the path, and a header policies read sent twice
 * with different values. Each spelling is refused by default; with `request.pathParameters:
 * strip` policies judge the path those servers serve. Path parameters never reach the log.
 */
import { checkRequest, frontend, GatehouseClient, headerValue, statusCode, type RequestSpec } from '../support/check-client.js';
import { cleanup, startGatehouse, type DecisionLine, type ServerProcess } from '../support/server-process.js';

const checkout = 'spiffe://cluster.local/ns/shop/sa/checkout';

async function decide(server: ServerProcess, client: GatehouseClient, spec: RequestSpec): Promise<{ status: number; line: DecisionLine }> {
  const response = await client.check(checkRequest(spec));
  return { status: statusCode(response), line: await server.decision(headerValue(response, 'x-gatehouse-decision-id')!) };
}

afterAll(cleanup);

describe('request.pathParameters: reject (the default)', () => {
  let server: ServerProcess;
  let client: GatehouseClient;
  beforeAll(async () => {
    server = await startGatehouse();
    client = new GatehouseClient(server.grpcTarget);
  });
  afterAll(() => client?.close());

  test.each([
    '/api/orders/..;/admin/flags',
    '/api/orders;x=1/1',
    '/api/orders/1;jsessionid=S3CR3T',
    '/api/orders/%2e%2e;/%2e%2e;/admin/flags',
    '/api/orders/..%3B/admin/flags',
    '/api/orders/1#/../../admin/flags',
  ])('%s is refused (bad_path) and logged without its parameters', async (path) => {
    const { status, line } = await decide(server, client, { principal: frontend, path });
    expect(status).toBe(7);
    expect(line).toMatchObject({ decision: 'deny', reason: 'bad_path', path: '' });
    expect(server.stdoutLines.join('\n')).not.toContain('S3CR3T');
  });

  test.each([
    ['two different tenants joined by Envoy', 'acme,globex', 7, 'ambiguous_parameter'],
    ['the same tenant twice counts once', 'acme, acme', 0, ''],
  ])('x-tenant (read by orders-writes-need-tenant): %s', async (_name, tenant, status, reason) => {
    const decided = await decide(server, client, { principal: checkout, method: 'POST', path: '/api/orders', headers: { 'x-tenant': tenant } });
    expect(decided.status).toBe(status);
    expect(decided.line.reason).toBe(reason);
  });
});

describe('request.pathParameters: strip', () => {
  let server: ServerProcess;
  let client: GatehouseClient;
  beforeAll(async () => {
    server = await startGatehouse({ configYaml: 'request:\n  pathParameters: strip\n' });
    client = new GatehouseClient(server.grpcTarget);
  });
  afterAll(() => client?.close());

  test.each([
    ['a session id', '/api/orders/1;jsessionid=S3CR3T', 0, '/api/orders/1'],
    ['a parameter inside the prefix', '/api/orders;v=2/7', 0, '/api/orders/7'],
    ['the ..;/ climb out of the prefix', '/api/orders/..;/admin/flags', 7, '/api/admin/flags'],
    ['an encoded semicolon is still refused', '/api/orders/..%3b/admin/flags', 7, ''],
  ])('%s: policies judge what a servlet container serves', async (_name, path, status, logged) => {
    const { status: got, line } = await decide(server, client, { principal: frontend, path });
    expect(got).toBe(status);
    expect(line.path).toBe(logged);
    expect(server.stdoutLines.join('\n')).not.toContain('S3CR3T');
  });
});
