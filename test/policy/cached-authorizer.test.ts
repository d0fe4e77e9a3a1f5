/**
 * The decision cache, keyed on a request's inputs (src/policy/request-key.ts), against no cache at
 * all, under policies that each read one thing a key must hold: the acting workload, the
 * delegation chain, the token's issuer, host, scheme, source address and port, header and query
 * tags, path tests, the path itself, an exact principal. Inputs vary every one of them, in spellings that build the
 * same request (host case, mapped IPv4, repeated groups) and spellings that do not.
 */
import type { Identity } from '../../src/core/identity.js';
import { parseRequest } from '../../src/core/parse-request.js';
import type { RequestFacts } from '../../src/core/request-facts.js';
import { CedarAuthorizer } from '../../src/policy/authorizer.js';
import { PolicyEngine } from '../../src/policy/cedar/engine.js';
import { keyable } from '../../src/policy/request-key.js';
import { spiffeId } from '../support/expect-ok.js';
import { rng } from './generated-estate.js';
import { exampleSchema } from './policy-fixtures.js';

const policies = [
  `permit (principal, action, resource) when { context has actor && context.actor.class == "agent" && context.path like "/api/*" };`,
  `permit (principal, action, resource) when { context has delegation && context.delegation.actors.contains("bot") && context.delegation.depth == 2 };`,
  `forbid (principal, action, resource) when { context has actor && context.actor.trustDomain == "partner.example" };`,
  `permit (principal, action, resource) when { context.authn has issuer && context.authn.issuer == "https://k8s.a" && context.path == "/admin" };`,
  `permit (principal is User, action, resource) when { principal.subject == "alice" && principal.issuer == "https://login.a" };`,
  `permit (principal in Group::"staff", action in Action::"read", resource) when { context.host == "orders.shop" };`,
  `forbid (principal, action, resource) when { context.scheme == "http" && context.path like "/admin*" };`,
  `permit (principal is Workload, action, resource) when { principal has namespace && principal.namespace == "shop" && principal.class == "service" && resource has namespace && resource.namespace == "shop" };`,
  `permit (principal, action, resource == Service::"orders") when { context.source has ip && context.source.ip.isInRange(ip("10.0.0.0/8")) };`,
  `forbid (principal, action, resource) when { context.source has port && context.source.port == 40001 };`,
  `permit (principal, action, resource) when { context.headers.hasTag("x-tenant") && context.headers.getTag("x-tenant") == "a" };`,
  `permit (principal, action, resource) when { context.query.hasTag("tenant") && context.query.getTag("tenant") == "a" };`,
  `forbid (principal, action, resource) when { context.path like "*/1" || context.path == "/api/orders/2" };`,
  `permit (principal, action == Action::"POST", resource) when { context.method == "POST" && context.path like "/api/*" };`,
  `permit (principal == Workload::"spiffe://cluster.local/ns/shop/sa/cart", action, resource);`,
  `permit (principal, action, resource) when { context.path like "/api/orders/*" && principal is Workload && principal.class == "build" };`,
  // The path read other than through like / == against literals: keyed as it is.
  `forbid (principal, action, resource) when { ["/admin/x", "/p"].contains(context.path) };`,
];

const workloadIds = ['spiffe://cluster.local/ns/shop/sa/frontend', 'spiffe://cluster.local/ns/shop/sa/cart', 'spiffe://partner.example/ns/shop/sa/frontend', 'spiffe://cluster.local/build/runner'];

function generators(random: () => number) {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const workload = (): Extract<Identity, { kind: 'workload' }> => {
    const authn = pick(['mtls', 'jwt'] as const);
    return { kind: 'workload', spiffeId: spiffeId(pick(workloadIds)), class: pick(['service', 'build', 'agent'] as const), authn, ...(authn === 'jwt' ? { issuer: pick(['https://k8s.a', 'https://k8s.b', undefined]) } : {}) };
  };
  const identity = (): Identity => {
    const kind = pick(['workload', 'user', 'anonymous'] as const);
    if (kind === 'anonymous') return { kind };
    const delegation = random() < 0.4 ? undefined : { actor: random() < 0.7 ? workload() : undefined, actors: pick([['spiffe://cluster.local/ns/agents/sa/assistant'], ['a', 'bot'], ['bot'], ['bot', 'bot']]), depth: pick([1, 2]) };
    const acting = delegation ? { delegation } : {};
    if (kind === 'workload') return { ...workload(), ...acting };
    const subject = pick(['alice', 'bob']);
    return { kind: 'user', issuer: pick(['https://login.a', 'https://login.b']), subject, name: pick([subject, `corp:${subject}`]), groups: pick([[], ['staff'], ['staff', 'oncall'], ['staff', 'staff']]), ...acting };
  };
  const facts = (): RequestFacts => ({
    requestId: '',
    streamId: '',
    method: pick(['GET', 'POST']),
    rawPath: pick(['/api/orders', '/api/orders/1', '/api/orders/2', '/admin', '/admin/x', '/api/x?tenant=a', '/p?tenant=%61&q=1', '/p?tenant=b']),
    host: pick(['orders.shop', 'Orders.Shop', 'ledger.billing', 'orders']),
    scheme: pick(['http', 'https']),
    protocol: 'HTTP/1.1',
    headers: new Map(pick([[], [['x-tenant', 'a']], [['x-tenant', 'b'], ['authorization', 'Bearer s']], [['x-tenant', 'a'], [':path', '/x']]] as [string, string][][])),
    repeatedHeaders: new Set(),
    source: { address: pick(['10.1.2.3', '::ffff:10.1.2.3', '192.168.0.1', 'garbage']), port: pick([0, 40000, 40001]), principal: '', certificate: '' },
    destination: { address: '', port: 0, principal: '', certificate: '' },
    contextExtensions: new Map(random() < 0.5 ? [['service', pick(['orders', 'orders.shop', 'ledger.billing'])]] : []),
    sni: '',
    problems: [],
  });
  return { identity, facts, pick };
}

test('a cached authorizer decides every request exactly as one without a cache', () => {
  const random = rng(20261201);
  const make = generators(random);
  let hits = 0;
  let total = 0;
  const keyableSets = new Set<boolean>();
  for (let round = 0; round < policies.length + 4; round++) {
    // Every policy alone, then random subsets.
    const chosen = round < policies.length ? [policies[round]!] : policies.filter(() => random() < 0.5);
    const prepared = PolicyEngine.prepare({ files: [{ name: 'p.cedar', text: chosen.join('\n') }], schemaText: exampleSchema, schemaFile: 'schema.cedarschema' });
    if (!prepared.ok) throw new Error(prepared.problems.map((problem) => problem.message).join('\n'));
    const cached = new CedarAuthorizer(prepared.engine);
    const uncached = new CedarAuthorizer(prepared.engine, { cacheSize: 0 });
    keyableSets.add(keyable(cached.reads));
    for (let i = 0; i < 300; i++) {
      const requestFacts = make.facts();
      const parsed = parseRequest(requestFacts);
      if (!parsed.ok || uncached.ambiguity(parsed.request, requestFacts) !== undefined) continue;
      const who = make.identity();
      const a = cached.authorize(who, parsed.request, requestFacts);
      const b = uncached.authorize(who, parsed.request, requestFacts);
      total += 1;
      if (a.cacheHit) hits += 1;
      expect({ round, i, decision: a.decision, determining: a.determining, errors: a.errors }).toEqual({ round, i, decision: b.decision, determining: b.determining, errors: b.errors });
    }
  }
  // Meaningful only if the cache answered a good share, and keyed sets were among those checked.
  expect(hits).toBeGreaterThan(total / 5);
  expect(keyableSets.has(true)).toBe(true);
});
