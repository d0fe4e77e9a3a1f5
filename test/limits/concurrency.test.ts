/**
 * `limits.maxConcurrentChecks` at its edge: with 2 allowed and Checks held up by a slow key
 * endpoint, the 2 in flight are decided on their merits and every further Check is answered at
 * once with UNAVAILABLE (`error_response`, reason `overloaded` in the log), never an allow; once
 * the pile drains, Checks are decided again.
 */
import { performance } from 'node:perf_hooks';
import { checkRequest, GatehouseClient, headerValue, statusCode, type CheckResponse } from '../support/check-client.js';
import { cleanup, startGatehouse, waitFor, type ServerProcess } from '../support/server-process.js';
import { frontendWorkload, Issuer, KeyServer } from '../faults/issuer.js';

const keyWaitMs = 1500;
let keys: KeyServer;
let server: ServerProcess;
let client: GatehouseClient;
let token: string;

beforeAll(async () => {
  const issuer = await Issuer.create();
  keys = await new KeyServer(() => issuer.jwks).start();
  keys.mode = { kind: 'slow', delayMs: 30_000 };
  server = await startGatehouse({
    configYaml: `${Issuer.configYaml(keys.uri)}limits:\n  maxConcurrentChecks: 2\n  keyFetchTimeoutMs: ${keyWaitMs}\n  decisionTimeoutMs: 5000\n`,
  });
  client = new GatehouseClient(server.grpcTarget);
  token = await issuer.serviceAccountToken();
});

afterAll(async () => {
  client?.close();
  await keys?.close();
  await cleanup();
});

test('2 Checks waiting for keys fill the limit: further Checks (token or mTLS) are UNAVAILABLE overloaded at once; after the pile drains, decided again', async () => {
  const held = [0, 1].map(() => client.check(checkRequest({ token, path: '/api/orders/1' }), 10_000));
  // Let both reach the handler and start waiting.
  await new Promise((resolve) => setTimeout(resolve, 300));

  const t0 = performance.now();
  const extra = await Promise.all([
    ...[0, 1, 2].map(() => client.check(checkRequest({ token, path: '/api/orders/1' }))),
    client.check(checkRequest({ principal: frontendWorkload, path: '/api/orders/1' })),
  ]);
  expect(performance.now() - t0).toBeLessThan(keyWaitMs);
  for (const response of extra) await expectOverloaded(response);

  // The two within the limit are decided on their own merits: no keys, so 401.
  for (const response of await Promise.all(held)) {
    expect(statusCode(response)).toBe(16);
    expect(await server.decision(headerValue(response, 'x-gatehouse-decision-id')!)).toMatchObject({ decision: 'deny', reason: 'keys_unavailable' });
  }

  const after = await waitFor('a Check decided again', async () => {
    const response = await client.check(checkRequest({ principal: frontendWorkload, path: '/api/orders/1' }));
    return statusCode(response) === 0 ? response : undefined;
  }, 5000, 50);
  expect(headerValue(after, 'x-gatehouse-principal')).toBe(frontendWorkload);
});

async function expectOverloaded(response: CheckResponse): Promise<void> {
  expect(statusCode(response)).toBe(14);
  expect(response.ok_response).toBeUndefined();
  expect(response.error_response).toBeDefined();
  expect(await server.decision(headerValue(response, 'x-gatehouse-decision-id')!)).toMatchObject({ decision: 'error', reason: 'overloaded' });
}
