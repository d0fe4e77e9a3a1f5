/**
 * The fast path (requests cut to what policies read, decisions cached) must decide exactly as a
 * plain full-request evaluation of the whole set, for every policy set and request. Seeded, so a
 * failure reproduces.
 */
import { jest } from '@jest/globals';
import type { Identity } from '../../src/core/identity.js';
import type { RequestFacts } from '../../src/core/request-facts.js';
import { CedarAuthorizer } from '../../src/policy/authorizer.js';
import { PolicyEngine } from '../../src/policy/cedar/engine.js';
import { buildCedarRequest } from '../../src/policy/entities.js';
import { anonymous, exampleSchema, user, workload } from './policy-fixtures.js';
import { parsedSubject } from '../support/subject.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const namespaces = ['shop', 'ci', 'ops', 'billing'];
const accounts = ['frontend', 'orders', 'builder', 'reconciler'];
const services = ['orders.shop', 'payments.shop', 'artifacts.registry', 'ledger.billing', 'single'];
const methods = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
const paths = ['/', '/api', '/api/', '/api/orders', '/api/orders/42', '/api/orders/43', '/admin', '/admin/flags', '/healthz', '/healthzz', '/v2/', '/v2/lib/blobs', '/metrics', '/*'];
const tenants = ['acme', 'globex', undefined];
const ips = ['10.1.2.3', '192.168.1.9', '127.0.0.1', '::ffff:10.9.9.9'];

const templates: ((pick: <T>(xs: readonly T[]) => T) => string)[] = [
  (p) => `permit (principal == Workload::"spiffe://cluster.local/ns/${p(namespaces)}/sa/${p(accounts)}", action in Action::"${p(['read', 'write'])}", resource == Service::"${p(services)}") when { context.path like "${p(['/api/*', '/admin/*', '/v2/*', '*'])}" };`,
  (p) => `permit (principal is Workload in Namespace::"${p(namespaces)}", action, resource in Namespace::"${p(namespaces)}");`,
  (p) => `forbid (principal is Workload, action, resource in Namespace::"${p(namespaces)}") when { principal.class == "${p(['build', 'automation', 'service'])}" };`,
  (p) => `permit (principal, action == Action::"${p(methods)}", resource) when { context.headers.hasTag("x-tenant") && context.headers.getTag("x-tenant") == "${p(['acme', 'globex'])}" };`,
  (p) => `permit (principal in Group::"${p(['sre', 'dev'])}", action in Action::"read", resource) when { context.query.hasTag("debug") };`,
  (p) => `forbid (principal, action, resource) unless { context.source has ip && context.source.ip.isInRange(ip("${p(['10.0.0.0/8', '0.0.0.0/0'])}")) };`,
  (p) => `permit (principal == Anonymous::"anonymous", action == Action::"GET", resource) when { context.path == "${p(['/healthz', '/metrics'])}" };`,
  (p) => `permit (principal, action, resource in Namespace::"${p(namespaces)}") when { resource has namespace && Namespace::"${p(namespaces)}".hasTag("tier") };`,
  (p) => `permit (principal, action, resource) when { context.authn.method == "${p(['mtls', 'jwt', 'none'])}" && context.host like "*${p(['shop', 'billing'])}*" };`,
  (p) => `forbid (principal, action == Action::"${p(methods)}", resource) when { context.source has port && context.source.port > ${p([1000, 50000])} };`,
  (p) => `permit (principal, action, resource) when { ["/healthz", "${p(['/metrics', '/admin'])}"].contains(context.path) };`,
  (p) => `forbid (principal is User, action, resource) when { context.path != "${p(['/healthz', '/'])}" && context.path like "${p(['/a*', '*/*', '/api/orders/4*'])}" };`,
  (p) => `forbid (principal is Workload, action, resource) when { Headers::"request".hasTag("x-tenant") && principal.class == "${p(['build', 'service'])}" };`,
  (p) => `forbid (principal, action, resource) when { // a comment ended by CR\r context.path like "${p(['/admin*', '/v2/*'])}" };`,
  // Spellings the token scanner gave up on and Cedar's parse reads exactly: an indexed attribute, escapes in names and patterns.
  (p) => `permit (principal, action == Action::"${p(methods)}", resource) when { context["path"] like "${p(['/api/\\u{2a}', '/v2/*'])}" && context.headers.hasTag("x\\u{2d}tenant") };`,
];

function policySet(seed: number, count: number, only: readonly number[]): string[] {
  const random = rng(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const allowed = only.length > 0 ? only.map((i) => templates[i]!) : templates;
  return Array.from({ length: count }, () => pick(allowed)(pick));
}

function randomRequest(random: () => number): { identity: Identity; facts: RequestFacts; path: { path: string; query: string } } {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const roll = random();
  const identity =
    roll < 0.7
      ? workload(`spiffe://cluster.local/ns/${pick(namespaces)}/sa/${pick(accounts)}`, pick(['service', 'build', 'automation', 'unknown'] as const))
      : roll < 0.85
        ? user(pick(['alice', 'bob']), pick([['sre'], ['dev'], []]))
        : anonymous;
  const headers = new Map<string, string>([['x-request-id', String(Math.floor(random() * 1e9))]]);
  const tenant = pick(tenants);
  if (tenant) headers.set('x-tenant', tenant);
  const facts: RequestFacts = {
    requestId: '',
    streamId: '',
    method: pick(methods),
    rawPath: '/',
    host: `${pick(services)}:8080`,
    scheme: 'http',
    protocol: 'HTTP/1.1',
    headers,
    repeatedHeaders: new Set(),
    source: { address: pick(ips), port: Math.floor(random() * 65535), principal: '', certificate: '' },
    destination: { address: '', port: 0, principal: '', certificate: '' },
    contextExtensions: new Map(random() < 0.5 ? [['service', pick(services)]] : []),
    sni: '',
    problems: [],
  };
  return { identity, facts, path: { path: pick(paths), query: pick(['', 'debug=1', 'a=b&debug=', 'x=1']) } };
}

const labels = (namespace: string) => (namespace === 'shop' || namespace === 'billing' ? new Map([['tier', 'prod']]) : undefined);

describe('CedarAuthorizer decides exactly as a full evaluation', () => {
  const all: number[] = [];
  test.each([
    [1, 8, all, 'everything'],
    [2, 20, all, 'everything'],
    [3, 40, all, 'everything'],
    // Sets that read less, so that the cut-down requests are what is compared.
    [4, 12, [0, 1, 2, 6], 'path only'],
    [5, 12, [0, 3, 6], 'one header'],
    [6, 12, [1, 4, 5], 'query and source ip'],
    [7, 12, [2, 7, 9], 'namespace tags and port'],
    [8, 16, [0, 6, 11], 'the path only through tests'],
    [9, 16, [0, 10, 11], 'the path opaquely'],
    [10, 16, [3, 6, 12], 'headers through an entity literal'],
    [11, 16, [0, 1, 13], 'a condition after a CR-ended comment'],
    [12, 16, [3, 6, 14], 'escaped and indexed spellings'],
  ])('policy set seed %i with %i policies (%j, reads %s)', (seed, count, only) => {
    const texts = policySet(seed, count, only);
    const prepared = PolicyEngine.prepare({ files: [{ name: 'generated.cedar', text: texts.join('\n') }], schemaText: exampleSchema, schemaFile: 'schema.cedarschema' });
    if (!prepared.ok) throw new Error(prepared.problems.map((p) => p.message).join('\n'));
    const fast = new CedarAuthorizer(prepared.engine, { namespaceLabels: labels });
    const random = rng(seed * 7919);
    let allows = 0;
    for (let i = 0; i < 600; i++) {
      const { identity, facts, path } = randomRequest(random);
      const subject = parsedSubject(facts, path);
      const full = prepared.engine.authorize(buildCedarRequest(identity, subject, facts, { namespaceLabels: labels }));
      const got = fast.authorize(identity, subject, facts);
      expect({ i, decision: got.decision, determining: got.determining }).toEqual({ i, decision: full.decision, determining: full.determining });
      if (full.decision === 'allow') allows += 1;
    }
    // The table is only worth something if both outcomes occur.
    expect(allows).toBeGreaterThan(0);
    expect(allows).toBeLessThan(600);
  });
});

test('paths that pass the same path tests share one cache entry', async () => {
  const { loadPolicies } = await import('../../src/policy/loader.js');
  const { requestFacts } = await import('../../src/core/decode.js');
  const loaded = await loadPolicies(new URL('../../policies/', import.meta.url).pathname);
  if (!loaded.ok) throw new Error('example policies do not load');
  const authorizer = new CedarAuthorizer(loaded.engine);
  expect(authorizer.reads.pathTests).not.toBe('opaque');
  const calls = jest.spyOn(loaded.engine, 'authorize');
  const sliced = jest.spyOn(loaded.engine, 'authorizeAmong');
  const identity = workload('spiffe://cluster.local/ns/shop/sa/frontend');
  for (let i = 0; i < 200; i++) {
    const facts = requestFacts(
      { attributes: { request: { http: { method: 'GET', path: `/api/orders/${i}`, host: 'orders.shop', headers: { 'x-request-id': `r${i}` } } } } },
      { maxHeaders: 100, maxHeaderBytes: 65536 },
    );
    expect(authorizer.authorize(identity, parsedSubject(facts), facts).decision).toBe('allow');
  }
  expect(calls.mock.calls.length + sliced.mock.calls.length).toBe(1);
});
