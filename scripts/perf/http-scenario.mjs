/* global process, URL */
// The HTTP authorization request the perf scripts send, as `npm run bench -- --http` does: 100
// policies, the frontend's identity in a trusted XFCC (fa-xfcc, envoy-xfcc) or a token
// (fa-token: run http-token.mjs first), forward auth or Envoy `http_service`. Writes the server's
// config (EXTRA_YAML appended) into a fresh directory.
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function httpScenario(scenario, workPrefix) {
  const wt = new URL('../..', import.meta.url).pathname;
  const { policyDir, frontend } = await import(`${wt}/dist/bench/estate.js`);
  const work = mkdtempSync(join(tmpdir(), workPrefix));
  const policies = policyDir(join(wt, 'policies'), 100);
  let identity = 'identity:\n  trustForwardedClientCert: true\n';
  let cred = { 'x-forwarded-client-cert': `By=spiffe://cluster.local/ns/ingress/sa/gateway;URI=${frontend}` };
  if (scenario === 'fa-token') {
    const { token, config } = JSON.parse(readFileSync('/tmp/gatehouse-perf-token.json', 'utf8'));
    identity = config;
    cred = { authorization: `Bearer ${token}` };
  }
  const configFile = join(work, 'c.yaml');
  writeFileSync(configFile, `${identity}httpAuthz:\n  enabled: true\n  listen: "127.0.0.1:0"\n${process.env.EXTRA_YAML ?? ''}`);
  const host = 'orders.shop.svc.cluster.local:8080';
  const headers =
    scenario === 'envoy-xfcc'
      ? { ':authority': host, 'x-request-id': 'r-42', ...cred }
      : { 'x-forwarded-method': 'GET', 'x-forwarded-proto': 'http', 'x-forwarded-host': host, 'x-forwarded-uri': '/api/orders/42', 'x-request-id': 'r-42', ...cred };
  const path = scenario === 'envoy-xfcc' ? '/envoy/api/orders/42' : '/forward-auth';
  /** h2load's arguments for these headers. */
  const headerArgs = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  return { work, policies, configFile, headerArgs, path };
}
