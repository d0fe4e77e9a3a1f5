/**
 * Generated policy sets and requests for the differential tests: every kind of scope (`==`, `in`
 * through namespaces and groups, `is`, `is … in`, action groups and lists, none), conditions that
 * read each request fact, forbids, and conditions that err (a Long overflow on most source ports).
 * Seeded, so a failure reproduces.
 */
import type { Identity } from '../../src/core/identity.js';
import type { RequestFacts } from '../../src/core/request-facts.js';
import { anonymous, user, workload } from './policy-fixtures.js';

export function rng(seed: number): () => number {
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
// TRACE is in no group; BREW is not an action at all, so Cedar refuses the request.
const requestMethods = [...methods, 'TRACE', 'BREW'];
const paths = ['/', '/api', '/api/', '/api/orders', '/api/orders/42', '/api/orders/43', '/admin', '/admin/flags', '/healthz', '/healthzz', '/v2/', '/v2/lib/blobs', '/metrics', '/*'];
const tenants = ['acme', 'globex', undefined];
const ips = ['10.1.2.3', '192.168.1.9', '127.0.0.1', '::ffff:10.9.9.9'];

export const templates: ((pick: <T>(xs: readonly T[]) => T) => string)[] = [
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
  // Scopes for slicing: `is … in` both sides, action lists mixing actions and groups, `==` on a group (never a principal), `in` a namespace.
  (p) => `permit (principal is User in Group::"${p(['sre', 'dev'])}", action in [Action::"${p(methods)}", Action::"${p(['read', 'write'])}"], resource is Service in Namespace::"${p(namespaces)}");`,
  (p) => `permit (principal in Namespace::"${p(namespaces)}", action == Action::"${p(['read', ...methods])}", resource);`,
  (p) => `forbid (principal == Group::"${p(['sre', 'dev'])}", action, resource);`,
  (p) => `permit (principal in Group::"${p(['sre', 'dev'])}", action, resource == Service::"${p(services)}") when { context.source has port && context.source.port * 1000000000000000 > 0 };`,
  (p) => `forbid (principal is Workload in Namespace::"${p(namespaces)}", action in Action::"${p(['read', 'write'])}", resource) when { context.source has port && context.source.port * 1000000000000000 < 0 };`,
  () => `permit (principal == Anonymous::"anonymous", action in Action::"read", resource is Service);`,
  (p) => `permit (principal == Workload::"spiffe://cluster.local/ns/${p(namespaces)}/sa/${p(accounts)}", action in [Action::"read", Action::"POST"], resource in Namespace::"${p(namespaces)}") when { principal.class == "${p(['service', 'build'])}" };`,
  (p) => `forbid (principal, action in Action::"write", resource == Service::"${p(services)}") when { context.source has port && context.source.port * 1000000000000000 == 7 };`,
];

export function policySet(seed: number, count: number, only: readonly number[]): string[] {
  const random = rng(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const allowed = only.length > 0 ? only.map((i) => templates[i]!) : templates;
  return Array.from({ length: count }, () => pick(allowed)(pick));
}

export function randomRequest(random: () => number): { identity: Identity; facts: RequestFacts; path: { path: string; query: string } } {
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
    method: pick(requestMethods),
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

export const labels = (namespace: string) => (namespace === 'shop' || namespace === 'billing' ? new Map([['tier', 'prod']]) : undefined);
