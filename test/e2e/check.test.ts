/**
 * Authorization/Check against the real server on the shipped example policies: the outcomes of
 * docs/reference.md, "Responses", the headers Envoy applies, and one decision log line per Check.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkRequest,
  decodeCheckResponse,
  frontend,
  GatehouseClient,
  headerOption,
  headerValue,
  plainMetadata,
  responseHeaders,
  statusCode,
  type CheckResponse,
} from '../support/check-client.js';
import { cleanup, startGatehouse, vectorDir, type DecisionLine, type ServerProcess } from '../support/server-process.js';

const overwrite = 'OVERWRITE_IF_EXISTS_OR_ADD';
const contractFields = ['time', 'decisionId', 'requestId', 'principal', 'authn', 'action', 'resource', 'path', 'decision', 'policies', 'errors', 'mode', 'durationMs'];

let server: ServerProcess;
let client: GatehouseClient;

beforeAll(async () => {
  server = await startGatehouse();
  client = new GatehouseClient(server.grpcTarget);
});

afterAll(async () => {
  client?.close();
  await cleanup();
});

/** Sends one Check and returns the response with the log line of its decision. */
async function decide(request: Record<string, unknown>): Promise<{ response: CheckResponse; line: DecisionLine }> {
  const response = await client.check(request);
  const decisionId = headerValue(response, 'x-gatehouse-decision-id');
  if (decisionId === undefined) throw new Error(`no decision id in ${JSON.stringify(response)}`);
  return { response, line: await server.decision(decisionId) };
}

function bodyJson(response: CheckResponse): Record<string, unknown> {
  return JSON.parse(response.denied_response?.body ?? 'null') as Record<string, unknown>;
}

describe('allow', () => {
  test('frontend GET /api/orders/1 on orders.shop is allowed with overwriting headers and metadata', async () => {
    const requestId = randomUUID();
    const { response, line } = await decide(checkRequest({ principal: frontend, method: 'GET', path: '/api/orders/1', requestId }));

    expect(statusCode(response)).toBe(0);
    expect(response.ok_response).toBeDefined();
    expect(response.denied_response).toBeUndefined();
    expect(response.error_response).toBeUndefined();

    const principalHeader = headerOption(response, 'x-gatehouse-principal');
    expect(principalHeader.header?.value).toBe(frontend);
    expect(principalHeader.append_action).toBe(overwrite);
    const decisionHeader = headerOption(response, 'x-gatehouse-decision-id');
    expect(decisionHeader.header?.value).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(decisionHeader.append_action).toBe(overwrite);

    const metadata = plainMetadata(response.dynamic_metadata?.fields);
    expect(metadata.principal).toBe(frontend);
    expect(metadata.policies).toEqual(['frontend-reads-orders']);
    expect(metadata.decisionId).toBe(decisionHeader.header?.value);

    expect(line).toMatchObject({
      decisionId: decisionHeader.header?.value,
      requestId,
      principal: `Workload::"${frontend}"`,
      authn: 'mtls',
      action: 'GET',
      resource: 'orders.shop',
      path: '/api/orders/1',
      decision: 'allow',
      policies: ['frontend-reads-orders'],
      errors: [],
      mode: 'enforce',
    });
  });

  test('a client-sent x-gatehouse-principal is overwritten, not appended to', async () => {
    const { response } = await decide(
      checkRequest({ principal: frontend, path: '/api/orders/1', headers: { 'x-gatehouse-principal': 'Workload::"spiffe://cluster.local/ns/kube-system/sa/admin"' } }),
    );
    expect(statusCode(response)).toBe(0);
    const principalHeader = headerOption(response, 'x-gatehouse-principal');
    expect(principalHeader.header?.value).toBe(frontend);
    expect(principalHeader.append_action).toBe(overwrite);
    expect(responseHeaders(response).every((option) => option.append_action === overwrite)).toBe(true);
  });

  test('anonymous GET /healthz is allowed', async () => {
    const { response, line } = await decide(checkRequest({ path: '/healthz' }));
    expect(statusCode(response)).toBe(0);
    expect(headerValue(response, 'x-gatehouse-principal')).toBeUndefined();
    expect(response.ok_response?.headers_to_remove).toContain('x-gatehouse-principal');
    expect(line).toMatchObject({ decision: 'allow', principal: 'Anonymous::"anonymous"', authn: 'none', policies: ['anonymous-reads-health'] });
  });
});

describe('deny', () => {
  test('a workload no policy permits gets 403 with a decision id and no policy names', async () => {
    const caller = 'spiffe://cluster.local/ns/shop/sa/checkout';
    const { response, line } = await decide(checkRequest({ principal: caller, method: 'GET', path: '/api/orders/1' }));

    expect(statusCode(response)).toBe(7);
    expect(response.ok_response).toBeUndefined();
    expect(response.denied_response?.status?.code).toBe('Forbidden');
    const decisionId = headerValue(response, 'x-gatehouse-decision-id');
    expect(bodyJson(response)).toMatchObject({ decision: 'deny', decisionId });
    expect(plainMetadata(response.dynamic_metadata?.fields)).toEqual({ decisionId, code: 'policy_denied' });
    expect(line).toMatchObject({ decision: 'deny', reason: 'policy_denied', principal: `Workload::"${caller}"` });
  });

  test('a forbid policy denies without naming itself in the response', async () => {
    // A write without x-tenant is refused by orders-writes-need-tenant, whoever sends it.
    const caller = 'spiffe://cluster.local/ns/shop/sa/checkout';
    const { response, line } = await decide(checkRequest({ principal: caller, method: 'POST', path: '/api/orders' }));

    expect(statusCode(response)).toBe(7);
    expect(line.policies).toEqual(['orders-writes-need-tenant']);
    const wire = JSON.stringify(response);
    for (const policy of line.policies) expect(wire).not.toContain(policy);
    expect(wire).not.toContain('forbid');
  });

  test('an anonymous request to a protected route gets 401 with www-authenticate', async () => {
    const { response, line } = await decide(checkRequest({ method: 'GET', path: '/api/orders/1' }));

    expect(statusCode(response)).toBe(16);
    expect(response.denied_response?.status?.code).toBe('Unauthorized');
    expect(headerValue(response, 'www-authenticate')).toMatch(/^Bearer\b/);
    expect(headerValue(response, 'x-gatehouse-decision-id')).toBe(line.decisionId);
    expect(line).toMatchObject({ decision: 'deny', principal: 'Anonymous::"anonymous"', authn: 'none' });
  });

  test('an invalid bearer token gets 401 even where its mTLS peer alone would be allowed', async () => {
    const { response, line } = await decide(checkRequest({ principal: frontend, path: '/api/orders/1', token: 'not-a-real-token' }));

    expect(statusCode(response)).toBe(16);
    expect(response.denied_response?.status?.code).toBe('Unauthorized');
    expect(headerValue(response, 'www-authenticate')).toContain('error="invalid_token"');
    expect(line.decision).toBe('deny');
    expect(line.reason).not.toBe('policy_denied');
    expect(JSON.stringify(server.decisions)).not.toContain('not-a-real-token');
  });
});

describe('every deny names its reason code in dynamic_metadata, beside the decision id', () => {
  const cases = [
    { name: 'policy', request: checkRequest({ principal: 'spiffe://cluster.local/ns/shop/sa/checkout', path: '/api/orders/1' }), status: 7 },
    { name: 'anonymous', request: checkRequest({ path: '/api/orders/1' }), status: 16 },
    { name: 'bad credential', request: checkRequest({ principal: frontend, path: '/api/orders/1', token: 'not-a-real-token' }), status: 16 },
    { name: 'bad path', request: checkRequest({ principal: frontend, path: '/api/orders/%2e%2e/%00' }), status: 7 },
    { name: 'untrusted trust domain', request: checkRequest({ principal: 'spiffe://evil.example/ns/shop/sa/frontend', path: '/api/orders/1' }), status: 16 },
  ];
  test.each(cases)('$name', async ({ request, status }) => {
    const { response, line } = await decide(request);
    expect(statusCode(response)).toBe(status);
    expect(plainMetadata(response.dynamic_metadata?.fields)).toEqual({ decisionId: line.decisionId, code: line.reason });
    expect(JSON.stringify(response)).not.toContain('not-a-real-token');
  });
});

describe('decision log', () => {
  test('exactly one line per Check, with every contract field, matching the response', async () => {
    const before = server.decisions.length;
    const cases = [
      checkRequest({ principal: frontend, path: '/api/orders/7' }),
      checkRequest({ path: '/readyz' }),
      checkRequest({ principal: 'spiffe://cluster.local/ns/ci/sa/builder', path: '/api/orders/7' }),
      checkRequest({ path: '/admin/settings' }),
      checkRequest({ token: 'x.y.z', path: '/api/orders/7' }),
    ];
    const responses = [];
    for (const request of cases) responses.push(await client.check(request));
    await server.waitForDecisions(before + cases.length);
    // Give a stray second line per Check the time to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.decisions).toHaveLength(before + cases.length);

    for (const [index, response] of responses.entries()) {
      const decisionId = headerValue(response, 'x-gatehouse-decision-id');
      const matching = server.decisions.filter((line) => line.decisionId === decisionId);
      expect(matching).toHaveLength(1);
      const line = matching[0]!;
      const request = cases[index] as { attributes: { request: { http: { headers: Record<string, string> } } } };
      for (const field of contractFields) expect(line).toHaveProperty(field);
      expect(line.requestId).toBe(request.attributes.request.http.headers['x-request-id']);
      expect(Number.isNaN(Date.parse(line.time))).toBe(false);
      expect(typeof line.durationMs).toBe('number');
      expect(line.durationMs).toBeGreaterThanOrEqual(0);
      expect(Array.isArray(line.policies)).toBe(true);
      expect(Array.isArray(line.errors)).toBe(true);
      expect(line.mode).toBe('enforce');
      expect(line.decision).toBe(statusCode(response) === 0 ? 'allow' : 'deny');
    }
    expect(server.strayStdout).toEqual([]);
  });
});

describe('Envoy wire vector', () => {
  test('request-mtls-get.bin sent as raw bytes is allowed for the frontend', async () => {
    const bytes = readFileSync(join(vectorDir, 'request-mtls-get.bin'));
    const outcome = await client.raw(bytes);
    if (!outcome.ok) throw outcome.error;
    const response = decodeCheckResponse(outcome.value);

    expect(statusCode(response)).toBe(0);
    expect(headerOption(response, 'x-gatehouse-principal').header?.value).toBe(frontend);
    const line = await server.decision(headerValue(response, 'x-gatehouse-decision-id') ?? '');
    expect(line).toMatchObject({
      requestId: '4f1c2a9e-7c55-4a3e-9a7c-3f2d1e0b9a11',
      principal: `Workload::"${frontend}"`,
      action: 'GET',
      resource: 'orders.shop',
      path: '/api/orders/42',
      decision: 'allow',
      policies: ['frontend-reads-orders'],
    });
  });
});
