/**
 * When gatehouse cannot decide, it says so: UNAVAILABLE with an `error_response` (so Envoy's
 * `failure_mode_allow: false` and `status_on_error` apply), a decision line with `decision:
 * "error"` and the reason, and the error metric; never a silent allow. Here the fault is a key
 * endpoint that never answers and a decision deadline shorter than the key wait. The other
 * faults of this kind are covered elsewhere: no valid policy set (test/e2e/health.test.ts),
 * overload (test/limits/concurrency.test.ts), SIGTERM under load with no failed in-flight call
 * (test/e2e/shutdown.test.ts).
 */
import { checkRequest, GatehouseClient, headerValue, statusCode } from '../support/check-client.js';
import { cleanup, httpGet, startGatehouse } from '../support/server-process.js';
import { frontendWorkload, Issuer, KeyServer } from './issuer.js';

let keys: KeyServer;
afterAll(async () => {
  await keys?.close();
  await cleanup();
});

test('a decision deadline (50 ms) passed while waiting for keys: UNAVAILABLE error_response for every such Check, logged and counted as errors; other Checks unaffected', async () => {
  const issuer = await Issuer.create();
  keys = await new KeyServer(() => issuer.jwks).start();
  keys.mode = { kind: 'hang' };
  const server = await startGatehouse({ configYaml: `${Issuer.configYaml(keys.uri)}limits:\n  decisionTimeoutMs: 50\n  keyFetchTimeoutMs: 2000\n` });
  const client = new GatehouseClient(server.grpcTarget);
  try {
    const token = await issuer.serviceAccountToken();
    const responses = await Promise.all(Array.from({ length: 10 }, () => client.check(checkRequest({ token, path: '/api/orders/1' }))));
    for (const response of responses) {
      expect(statusCode(response)).toBe(14);
      expect(response.ok_response).toBeUndefined();
      expect(response.denied_response).toBeUndefined();
      expect(response.error_response).toMatchObject({ status: { code: 'ServiceUnavailable' } });
      const line = await server.decision(headerValue(response, 'x-gatehouse-decision-id')!);
      expect(line).toMatchObject({ decision: 'error', reason: 'decision_timeout', policies: [] });
    }
    const metrics = (await httpGet(server, '/metrics')).body;
    expect(metrics).toMatch(/^gatehouse_decisions_total\{outcome="error",reason="decision_timeout",wire="grpc"\} 10$/m);

    const mtls = await client.check(checkRequest({ principal: frontendWorkload, path: '/api/orders/1' }));
    expect(statusCode(mtls)).toBe(0);
    expect(await client.healthStatus()).toBe('SERVING');
  } finally {
    client.close();
  }
});
