/**
 * HTTP authorization through the real server: the same requests over gRPC, Envoy `http_service`
 * (HTTP/1.1 and h2c) and forward auth decide the same, with the same log lines but `wire`, and
 * the HTTP answers are the contract's (200 with headers to copy, 401/403 with the gRPC deny's
 * body, 403 `bad_request` for an original request that cannot be read).
 */
import { randomUUID } from 'node:crypto';
import { checkRequest, frontend, GatehouseClient, headerValue, statusCode, type CheckResponse } from '../support/check-client.js';
import { h1Call, h2cCall, type AuthzAnswer } from '../support/http-authz-client.js';
import { cleanup, httpGet, startGatehouse, type DecisionLine, type ServerProcess } from '../support/server-process.js';

const configYaml = `
identity:
  trustForwardedClientCert: true
httpAuthz:
  enabled: true
  listen: "127.0.0.1:0"
  trustedProxies: ["127.0.0.1"]
`;

const ordersHost = 'orders.shop.svc.cluster.local:8080';
const checkout = 'spiffe://cluster.local/ns/shop/sa/checkout';

interface Case {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly caller?: string;
  readonly status: number;
  readonly decision: 'allow' | 'deny';
  readonly reason: string;
}

const cases: Case[] = [
  { name: 'the frontend reads orders', method: 'GET', path: '/api/orders/1', caller: frontend, status: 200, decision: 'allow', reason: '' },
  { name: 'an anonymous caller', method: 'GET', path: '/api/orders/1', status: 401, decision: 'deny', reason: 'policy_denied' },
  { name: 'checkout deletes an order', method: 'DELETE', path: '/api/orders/1', caller: checkout, status: 403, decision: 'deny', reason: 'policy_denied' },
  { name: 'a path parameter', method: 'GET', path: '/api/orders;jsessionid=1/1', caller: frontend, status: 403, decision: 'deny', reason: 'bad_path' },
  { name: 'a forged XFCC (two SPIFFE URIs)', method: 'GET', path: '/api/orders/1', caller: `${frontend};URI=${checkout}`, status: 401, decision: 'deny', reason: 'malformed_xfcc' },
];

let server: ServerProcess;
let client: GatehouseClient;

beforeAll(async () => {
  server = await startGatehouse({ configYaml });
  client = new GatehouseClient(server.grpcTarget);
});

afterAll(async () => {
  client.close();
  await cleanup();
});

const callerHeaders = (c: Case, requestId: string): Record<string, string> => ({
  'x-request-id': requestId,
  ...(c.caller === undefined ? {} : { 'x-forwarded-client-cert': `URI=${c.caller}` }),
});

/** The line without what differs between wires by nature. */
function comparable(line: DecisionLine): Record<string, unknown> {
  const { time: _time, decisionId: _id, durationMs: _ms, wire: _wire, requestId: _rid, ...rest } = line;
  return rest;
}

const grpcStatus: Record<number, number> = { 0: 200, 7: 403, 16: 401 };

describe.each(cases)('$name', (c) => {
  test('decides the same over gRPC, Envoy HTTP/1.1, Envoy h2c and forward auth', async () => {
    const ids = { grpc: randomUUID(), h1: randomUUID(), h2c: randomUUID(), forward: randomUUID(), original: randomUUID() };
    const grpc: CheckResponse = await client.check(checkRequest({ method: c.method, path: c.path, host: ordersHost, requestId: ids.grpc, headers: callerHeaders(c, ids.grpc) }));
    const envoy = { method: c.method, path: `/envoy${c.path}` };
    const h1 = await h1Call(server.httpAuthzPort, { ...envoy, headers: { host: ordersHost, ...callerHeaders(c, ids.h1) } });
    const h2 = await h2cCall(server.httpAuthzPort, { ...envoy, headers: { host: ordersHost, ...callerHeaders(c, ids.h2c) } });
    const forward = await h1Call(server.httpAuthzPort, {
      path: '/forward-auth',
      headers: { 'X-Forwarded-Method': c.method, 'X-Forwarded-Proto': 'http', 'X-Forwarded-Host': ordersHost, 'X-Forwarded-Uri': c.path, ...callerHeaders(c, ids.forward) },
    });
    const original = await h1Call(server.httpAuthzPort, {
      path: '/forward-auth',
      headers: { 'X-Original-Method': c.method, 'X-Original-URL': `http://${ordersHost}${c.path}`, ...callerHeaders(c, ids.original) },
    });

    expect(grpcStatus[statusCode(grpc)]).toBe(c.status);
    const answers: [keyof typeof ids, AuthzAnswer][] = [['h1', h1], ['h2c', h2], ['forward', forward], ['original', original]];
    for (const [, answer] of answers) {
      expect(answer.status).toBe(c.status);
      const decisionId = answer.headers['x-gatehouse-decision-id']!;
      expect(decisionId).toMatch(/^[0-9A-Z]{26}$/);
      if (c.status === 200) {
        expect(answer.body).toBe('');
        expect(answer.headers['x-gatehouse-principal']).toBe(headerValue(grpc, 'x-gatehouse-principal'));
      } else {
        expect(answer.headers['x-gatehouse-principal']).toBeUndefined();
        expect(JSON.parse(answer.body)).toEqual({ ...JSON.parse(grpc.denied_response!.body!), decisionId });
        expect(answer.headers['www-authenticate']).toBe(headerValue(grpc, 'www-authenticate'));
      }
    }

    const line = (id: string): Promise<DecisionLine> => waitLine(server, id);
    const grpcLine = await line(ids.grpc);
    expect(grpcLine).toMatchObject({ decision: c.decision, reason: c.reason, wire: 'grpc' });
    const wires = { h1: 'envoy-http', h2c: 'envoy-http', forward: 'forward-auth', original: 'forward-auth' } as const;
    for (const [key, wire] of Object.entries(wires) as [keyof typeof wires, string][]) {
      const other = await line(ids[key]);
      expect(other.wire).toBe(wire);
      expect(comparable(other)).toEqual(comparable(grpcLine));
    }
  });
});

async function waitLine(server: ServerProcess, requestId: string): Promise<DecisionLine> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const found = server.decisions.find((l) => l.requestId === requestId);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no decision line for request ${requestId}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('answers of the HTTP wire', () => {
  test.each([
    ['no original request at all', {}],
    ['a method but no URI', { 'X-Forwarded-Method': 'GET', 'X-Forwarded-Host': ordersHost }],
    ['a relative X-Original-URL', { 'X-Original-Method': 'GET', 'X-Original-URL': '/api/orders/1', 'x-forwarded-client-cert': `URI=${frontend}` }],
  ])('forward auth with %s is a 403 bad_request, never an allow', async (_name, headers) => {
    const requestId = randomUUID();
    const answer = await h1Call(server.httpAuthzPort, { path: '/forward-auth', headers: { ...headers, 'x-request-id': requestId } });
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toMatchObject({ decision: 'deny' });
    expect(await waitLine(server, requestId)).toMatchObject({ decision: 'deny', reason: 'bad_request', wire: 'forward-auth' });
  });

  test('more headers than limits.maxHeaders is refused as over gRPC', async () => {
    const many = Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`x-extra-${i}`, 'v']));
    const requestId = randomUUID();
    const answer = await h1Call(server.httpAuthzPort, { path: '/envoy/api/orders/1', headers: { host: ordersHost, 'x-request-id': requestId, ...many } });
    expect(answer.status).toBe(403);
    expect(await waitLine(server, requestId)).toMatchObject({ reason: 'bad_request', detail: 'more than 200 headers' });
  });

  test('a path outside both endpoints is 404 and decides nothing', async () => {
    const before = server.decisions.length;
    expect((await h1Call(server.httpAuthzPort, { path: '/elsewhere' })).status).toBe(404);
    expect(server.decisions.length).toBe(before);
  });

  test('Envoy http_service is told which client-sent gatehouse headers to remove', async () => {
    const answer = await h1Call(server.httpAuthzPort, { path: '/envoy/healthz', headers: { host: ordersHost } });
    expect(answer.status).toBe(200);
    expect(answer.headers['x-envoy-auth-headers-to-remove']).toBe('x-gatehouse-principal,x-gatehouse-actor,x-gatehouse-dry-run,x-gatehouse-assertion');
  });

  test('the decision metrics carry the wire', async () => {
    const metrics = (await httpGet(server, '/metrics')).body;
    for (const wire of ['grpc', 'envoy-http', 'forward-auth']) expect(metrics).toMatch(new RegExp(`^gatehouse_decisions_total\\{[^}]*wire="${wire}"[^}]*\\} [1-9]`, 'm'));
  });
});
