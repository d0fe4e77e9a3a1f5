/* global process, URL, setImmediate, console */
// In-process A/B of the HTTP wire's user-space work per cached Check: translate, pipeline.run and
// the server's record step (decision log to stdout, prom-client metrics), two builds loaded side by
// side in one process, rounds interleaved. Stdout must be a file (the bench's decision log is).
// node scripts/perf/http-ab.mjs <rootA> <rootB> [rounds] [n] [fa-xfcc|fa-token|envoy-xfcc] > /tmp/lines.jsonl
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [rootA, rootB, roundsArg = '6', nArg = '40000', scenario = 'fa-xfcc'] = process.argv.slice(2);
const rounds = Number(roundsArg);
const n = Number(nArg);
const wt = new URL('../..', import.meta.url).pathname;
const { policyDir, frontend } = await import(`${wt}/dist/bench/estate.js`);
const policies = policyDir(join(wt, 'policies'), 100);
const host = 'orders.shop.svc.cluster.local:8080';
const xfcc = `By=spiffe://cluster.local/ns/ingress/sa/gateway;URI=${frontend}`;
let identity = { trustForwardedClientCert: true };
let cred = ['x-forwarded-client-cert', xfcc];
if (scenario === 'fa-token') {
  const { token } = JSON.parse(readFileSync('/tmp/gatehouse-perf-token.json', 'utf8'));
  identity = { jwt: [{ issuer: 'https://kubernetes.default.svc.cluster.local', kind: 'kubernetes', audiences: ['gatehouse'], jwksFile: '/tmp/gatehouse-perf-jwks.json' }] };
  cred = ['authorization', `Bearer ${token}`];
}
const raw =
  scenario === 'envoy-xfcc'
    ? ['host', host, 'user-agent', 'h2load nghttp2/1.52.0', 'x-request-id', 'r-42', ...cred]
    : ['host', '127.0.0.1:40000', 'user-agent', 'h2load nghttp2/1.52.0', 'x-forwarded-method', 'GET', 'x-forwarded-proto', 'http', 'x-forwarded-host', host, 'x-forwarded-uri', '/api/orders/42', 'x-request-id', 'r-42', ...cred];
const target = scenario === 'envoy-xfcc' ? '/envoy/api/orders/42' : '/forward-auth';

async function setup(root) {
  const m = (p) => import(join(root, 'dist/src', p));
  const { parseConfig, forwardAuthPath } = await m('config.js');
  const { resolverFromConfig } = await m('identity/resolver-from-config.js');
  const { serverTokens } = await m('serve/token-verification.js');
  const { CheckPipeline } = await m('pipeline/check-pipeline.js');
  const { CedarAuthorizer } = await m('policy/authorizer.js');
  const { loadPolicies } = await m('policy/loader.js');
  const { DecisionLog, winstonSink } = await m('log/decision-log.js');
  const { recordDecision } = await m('log/record-decision.js');
  const { Metrics } = await m('transport/metrics.js');
  const { translateAuthzRequest } = await m('transport/http-authz-request.js');
  const { noLifecycle } = await m('core/decide.js');
  const config = parseConfig({ identity, httpAuthz: { enabled: true } });
  const loaded = await loadPolicies(policies);
  const authorizer = new CedarAuthorizer(loaded.engine);
  const log = new DecisionLog(winstonSink({ stdout: true, file: '' }, () => undefined));
  const metrics = new Metrics();
  const pipeline = new CheckPipeline({
    identity: resolverFromConfig(config, serverTokens(config, undefined).tokens),
    policies: { current: () => authorizer },
    lifecycle: () => noLifecycle,
    mode: { dryRun: false, dryRunNamespaces: new Set() },
    request: config.request,
    response: config.response,
    limits: config.limits,
    record: recordDecision(log, metrics),
  });
  const options = { envoyPathPrefix: config.httpAuthz.envoyPathPrefix, forwardAuthPath, trustedProxy: () => false };
  let allowed = 0;
  const one = () => {
    const t = translateAuthzRequest({ method: 'GET', target, authority: raw[1], rawHeaders: raw, peer: { address: '127.0.0.1', port: 40000 }, httpVersion: '1.1' }, options);
    return Promise.resolve(pipeline.run(t.message, { wire: t.wire, problems: t.problems })).then((o) => {
      if (o.response.ok_response) allowed++;
    });
  };
  return { one, allowed: () => allowed };
}

const subjects = [await setup(rootA), await setup(rootB)];
const results = [[], []];
for (let r = 0; r < rounds + 1; r++) {
  for (let s = 0; s < 2; s++) {
    const { one } = subjects[s];
    const started = process.cpuUsage();
    for (let i = 0; i < n; i += 4) {
      await Promise.all([one(), one(), one(), one()]);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const used = process.cpuUsage(started);
    if (r > 0) results[s].push((used.user + used.system) / n);
  }
}
for (let s = 0; s < 2; s++) {
  const xs = results[s].slice().sort((a, b) => a - b);
  console.error([rootA, rootB][s], 'allowed', subjects[s].allowed(), 'median', xs[Math.floor(xs.length / 2)].toFixed(2), 'µs; all', results[s].map((x) => x.toFixed(2)).join(' '));
}
