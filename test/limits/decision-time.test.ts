/**
 * `limits.decisionTimeoutMs` and `limits.keyFetchTimeoutMs` at their edges, with a key endpoint
 * that answers only after 30 s. Whichever bound is shorter decides how a token Check ends, and it
 * ends within that bound: the key wait first gives a deny with its reason (401 keys_unavailable);
 * the decision deadline first gives UNAVAILABLE (`error_response`, decision_timeout), so Envoy's
 * `failure_mode_allow: false` and `status_on_error` apply. Never an allow.
 */
import { performance } from 'node:perf_hooks';
import { checkRequest, GatehouseClient, headerValue, statusCode, type CheckResponse } from '../support/check-client.js';
import { cleanup, startGatehouse, type ServerProcess } from '../support/server-process.js';
import { Issuer, KeyServer } from '../faults/issuer.js';

const marginMs = 700;
const short = 300;
const long = 1500;

let issuer: Issuer;
let keys: KeyServer;
const clients: GatehouseClient[] = [];

beforeAll(async () => {
  issuer = await Issuer.create();
  keys = await new KeyServer(() => issuer.jwks).start();
  keys.mode = { kind: 'slow', delayMs: 30_000 };
});

afterAll(async () => {
  for (const client of clients) client.close();
  await keys.close();
  await cleanup();
});

async function timedTokenCheck(limits: { keyFetchTimeoutMs: number; decisionTimeoutMs: number }): Promise<{ server: ServerProcess; response: CheckResponse; ms: number }> {
  const server = await startGatehouse({
    configYaml: `${Issuer.configYaml(keys.uri)}limits:\n  keyFetchTimeoutMs: ${limits.keyFetchTimeoutMs}\n  decisionTimeoutMs: ${limits.decisionTimeoutMs}\n`,
  });
  const client = new GatehouseClient(server.grpcTarget);
  clients.push(client);
  const token = await issuer.serviceAccountToken();
  // The channel is connected first: the clock is for the Check alone, not for a connection made
  // on a machine that CI keeps busy (a first call there took 1.1 s once).
  await client.check(checkRequest({ path: '/healthz' }));
  const t0 = performance.now();
  const response = await client.check(checkRequest({ token, path: '/api/orders/1' }), 10_000);
  return { server, response, ms: performance.now() - t0 };
}

test(`keyFetchTimeoutMs ${short} < decisionTimeoutMs ${long}: 401 keys_unavailable after about ${short} ms`, async () => {
  const { server, response, ms } = await timedTokenCheck({ keyFetchTimeoutMs: short, decisionTimeoutMs: long });
  expect(statusCode(response)).toBe(16);
  expect(ms).toBeGreaterThanOrEqual(short - 50);
  expect(ms).toBeLessThan(short + marginMs);
  expect(await server.decision(headerValue(response, 'x-gatehouse-decision-id')!)).toMatchObject({ decision: 'deny', reason: 'keys_unavailable' });
});

test(`decisionTimeoutMs ${short} < keyFetchTimeoutMs ${long}: UNAVAILABLE error_response (decision_timeout) after about ${short} ms`, async () => {
  const { server, response, ms } = await timedTokenCheck({ keyFetchTimeoutMs: long, decisionTimeoutMs: short });
  expect(statusCode(response)).toBe(14);
  expect(response.ok_response).toBeUndefined();
  expect(response.error_response?.status?.code).toBe('ServiceUnavailable');
  expect(ms).toBeGreaterThanOrEqual(short - 50);
  expect(ms).toBeLessThan(short + marginMs);
  const line = await server.decision(headerValue(response, 'x-gatehouse-decision-id')!);
  expect(line).toMatchObject({ decision: 'error', reason: 'decision_timeout' });
});
