/**
 * Health, readiness and metrics of the real server, and its behaviour without a valid policy
 * set: NOT_SERVING, /readyz 503, and every Check an `error_response` (never an allow) until a
 * valid set is written, after which it serves within seconds without a restart.
 */
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRequest, frontend, GatehouseClient, headerValue, statusCode, type CheckResponse } from '../support/check-client.js';
import { cleanup, copyExamplePolicies, examplePolicyDir, httpGet, scratchDir, startGatehouse, waitFor, type ServerProcess } from '../support/server-process.js';

const authorizationService = 'envoy.service.auth.v3.Authorization';

/** Requests that a valid example set would answer every which way: allow, 403, 401. */
const probes = (): Record<string, unknown>[] => [
  checkRequest({ principal: frontend, path: '/api/orders/1' }),
  checkRequest({ path: '/healthz' }),
  checkRequest({ path: '/api/orders/1' }),
  checkRequest({ principal: 'spiffe://cluster.local/ns/shop/sa/checkout', method: 'DELETE', path: '/api/orders/1' }),
  checkRequest({ token: 'a.b.c', path: '/api/orders/1' }),
];

const clients: GatehouseClient[] = [];

function clientFor(server: ServerProcess): GatehouseClient {
  const client = new GatehouseClient(server.grpcTarget);
  clients.push(client);
  return client;
}

afterAll(async () => {
  for (const client of clients) client.close();
  await cleanup();
});

async function expectUnavailable(server: ServerProcess, client: GatehouseClient): Promise<void> {
  for (const request of probes()) {
    const response: CheckResponse = await client.check(request);
    expect(statusCode(response)).toBe(14);
    expect(response.ok_response).toBeUndefined();
    expect(response.denied_response).toBeUndefined();
    expect(response.error_response?.status?.code).toBe('ServiceUnavailable');
    const decisionId = headerValue(response, 'x-gatehouse-decision-id');
    expect(decisionId).toBeDefined();
    expect(await server.decision(decisionId!)).toMatchObject({ decision: 'error', reason: 'no_policy_set' });
  }
}

async function expectNotReady(server: ServerProcess, client: GatehouseClient): Promise<void> {
  expect(await client.healthStatus()).toBe('NOT_SERVING');
  expect(await client.healthStatus(authorizationService)).toBe('NOT_SERVING');
  const ready = await httpGet(server, '/readyz');
  expect(ready.status).toBe(503);
  expect(JSON.parse(ready.body)).toMatchObject({ ready: false, policyVersion: null });
  expect((await httpGet(server, '/healthz')).status).toBe(200);
}

/** Polls health until SERVING; the store re-reads its directory at least once a second. */
async function expectServingSoon(client: GatehouseClient): Promise<void> {
  await waitFor('health SERVING', async () => ((await client.healthStatus()) === 'SERVING' ? true : undefined), 5000, 100);
}

async function expectDecidesAgain(client: GatehouseClient): Promise<void> {
  expect(statusCode(await client.check(checkRequest({ principal: frontend, path: '/api/orders/1' })))).toBe(0);
  expect(statusCode(await client.check(checkRequest({ path: '/api/orders/1' })))).toBe(16);
}

describe('with the example policies', () => {
  let server: ServerProcess;
  let client: GatehouseClient;

  beforeAll(async () => {
    server = await startGatehouse({ policies: examplePolicyDir });
    client = clientFor(server);
  });

  test('grpc.health.v1 is SERVING for the server and for the Authorization service', async () => {
    expect(await client.healthStatus()).toBe('SERVING');
    expect(await client.healthStatus(authorizationService)).toBe('SERVING');
  });

  test('an unknown service is NOT_FOUND', async () => {
    const outcome = await client.healthOutcome('no.such.Service');
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error.code).toBe(5);
  });

  test('/healthz is 200 and /readyz is 200 with the policy version', async () => {
    expect((await httpGet(server, '/healthz')).status).toBe(200);
    const ready = await httpGet(server, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ ready: true, draining: false, reloadErrors: [] });
    expect(JSON.parse(ready.body).policyVersion).toEqual(expect.any(String));
  });

  test('/metrics has the decision, duration and reload metrics, counting a Check', async () => {
    await client.check(checkRequest({ principal: frontend, path: '/api/orders/1' }));
    const metrics = await httpGet(server, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^gatehouse_decisions_total\{[^}]*outcome="allow"[^}]*\} [1-9]/m);
    expect(metrics.body).toMatch(/^gatehouse_check_duration_seconds_count [1-9]/m);
    expect(metrics.body).toMatch(/^gatehouse_check_duration_seconds_bucket\{le="\+Inf"\} [1-9]/m);
    expect(metrics.body).toMatch(/^gatehouse_policy_reloads_total\{result="success"\} 1$/m);
  });
});

describe('without a valid policy set', () => {
  test('a syntax error: NOT_SERVING, 503, every Check UNAVAILABLE; fixing the file serves within seconds', async () => {
    const dir = await copyExamplePolicies();
    const broken = join(dir, 'broken.cedar');
    await writeFile(broken, '@id("broken")\npermit (principal, action, resource) when { context.path == ;\n');
    const server = await startGatehouse({ policies: dir });
    const client = clientFor(server);

    await expectNotReady(server, client);
    await expectUnavailable(server, client);
    const ready = JSON.parse((await httpGet(server, '/readyz')).body) as { reloadErrors: string[] };
    expect(ready.reloadErrors.join('\n')).toContain('broken.cedar');
    expect((await httpGet(server, '/metrics')).body).toMatch(/^gatehouse_policy_reloads_total\{result="failure"\} [1-9]/m);

    await rm(broken);
    await expectServingSoon(client);
    expect((await httpGet(server, '/readyz')).status).toBe(200);
    await expectDecidesAgain(client);
    expect((await httpGet(server, '/metrics')).body).toMatch(/^gatehouse_policy_reloads_total\{result="success"\} 1$/m);
  });

  test('a missing schema: NOT_SERVING until the schema is written', async () => {
    const dir = await scratchDir('no-schema');
    await writeFile(join(dir, 'shop.cedar'), await readFile(join(examplePolicyDir, 'shop.cedar')));
    await writeFile(join(dir, 'public-health.cedar'), await readFile(join(examplePolicyDir, 'public-health.cedar')));
    const server = await startGatehouse({ policies: dir });
    const client = clientFor(server);

    await expectNotReady(server, client);
    await expectUnavailable(server, client);

    await writeFile(join(dir, 'schema.cedarschema'), await readFile(join(examplePolicyDir, 'schema.cedarschema')));
    await expectServingSoon(client);
    await expectDecidesAgain(client);
  });

  // A directory that does not exist at all stops the start (exit 2, test/e2e/config.test.ts): it is
  // a typo far more often than a mount still to come. An empty one waits for its policies.
  test('an empty policy directory: NOT_SERVING, then serving once the policies arrive', async () => {
    const dir = await scratchDir('later');
    const server = await startGatehouse({ policies: dir });
    const client = clientFor(server);

    await expectNotReady(server, client);
    await expectUnavailable(server, client);

    await cp(examplePolicyDir, dir, { recursive: true });
    await expectServingSoon(client);
    await expectDecidesAgain(client);
  });
});
