/**
 * A decision shared between principals the applicable policies cannot tell apart must be the
 * decision each of them would get on its own. Over generated estates whose policies name some
 * workloads and people, read principal attributes, compare the principal with the actor and test
 * it against groups and namespaces, a caching authorizer (sharing on) answers every request of a
 * long random stream of new and repeated principals exactly as an authorizer that caches nothing
 * and evaluates the whole set. Seeded, so a failure reproduces.
 */
import { jest } from '@jest/globals';
import type { Identity, WorkloadIdentity } from '../../src/core/identity.js';
import { CedarAuthorizer } from '../../src/policy/authorizer.js';
import { PolicyEngine } from '../../src/policy/cedar/engine.js';
import { principalView } from '../../src/policy/principal-view.js';
import { SharedDecisions } from '../../src/policy/shared-decisions.js';
import { labels, randomRequest, rng, templates } from './generated-estate.js';
import { exampleSchema, user, workload } from './policy-fixtures.js';
import { parsedSubject } from '../support/subject.js';

/** Policies that look at the principal in every way principal-view.ts must understand or give up on. */
const principalTemplates: ((pick: <T>(xs: readonly T[]) => T) => string)[] = [
  (p) => `permit (principal is Workload, action in Action::"read", resource) when { principal has serviceAccount && principal.serviceAccount == "${p(['w1', 'w2', 'frontend'])}" };`,
  (p) => `forbid (principal, action, resource in Namespace::"${p(['shop', 'ci'])}") when { principal is Workload && principal.spiffeId like "*/sa/w${p(['3', '4'])}" };`,
  (p) => `permit (principal is Workload, action, resource) when { context has actor && context.actor == principal && resource in Namespace::"${p(['shop', 'ops'])}" };`,
  (p) => `permit (principal is Workload, action == Action::"GET", resource) when { principal in [Workload::"spiffe://cluster.local/ns/${p(['shop', 'ci'])}/sa/w${p(['5', '6'])}", Workload::"spiffe://cluster.local/ns/ops/sa/w9"] };`,
  (p) => `forbid (principal is User, action == Action::"POST", resource) when { principal == User::"${p(['u1', 'u2'])}" };`,
  (p) => `permit (principal is User in Group::"${p(['dev', 'sre'])}", action in Action::"read", resource) when { principal.subject != "${p(['u3', 'u4'])}" };`,
  (p) => `permit (principal is Workload in Namespace::"${p(['shop', 'ops', 'billing'])}", action in Action::"${p(['read', 'write'])}", resource in Namespace::"${p(['shop', 'billing'])}") when { principal.class != "build" };`,
  (p) => `forbid (principal, action, resource) when { context has delegation && context.delegation.actors.contains("spiffe://cluster.local/ns/${p(['ci', 'shop'])}/sa/w${p(['7', '8'])}") };`,
];

/** `opaque`: with the policy comparing the principal with the actor, which makes most slices opaque. */
function policySet(seed: number, count: number, opaque: boolean): string[] {
  const random = rng(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const all = [...templates, ...principalTemplates.filter((_, i) => opaque || i !== 2)];
  return Array.from({ length: count }, () => pick(all)(pick));
}

function prepare(texts: readonly string[]): PolicyEngine {
  const prepared = PolicyEngine.prepare({ files: [{ name: 'generated.cedar', text: texts.join('\n') }], schemaText: exampleSchema, schemaFile: 'schema.cedarschema' });
  if (!prepared.ok) throw new Error(prepared.problems.map((p) => p.message).join('\n'));
  return prepared.engine;
}

/** Mostly principals no policy names, drawn from a small pool so that the same shapes come back under new names. */
function principal(random: () => number, identity: Identity): Identity {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const roll = random();
  const actor = (): WorkloadIdentity => workload(`spiffe://cluster.local/ns/${pick(['ci', 'shop'])}/sa/w${Math.floor(random() * 10)}`, pick(['build', 'agent', 'service'] as const)) as WorkloadIdentity;
  if (roll < 0.4) return workload(`spiffe://cluster.local/ns/${pick(['shop', 'ci', 'ops', 'billing'])}/sa/w${Math.floor(random() * 40)}`, pick(['service', 'build', 'unknown'] as const));
  if (roll < 0.55) {
    const person = user(`u${Math.floor(random() * 12)}`, pick([['sre'], ['dev'], [], ['sre', 'dev']]));
    if (random() < 0.5) return person;
    const by = actor();
    return { ...person, delegation: { actor: by, actors: [by.spiffeId.toString()], depth: 1 } } as Identity;
  }
  if (roll < 0.65) {
    // A workload acting for itself: the actor is the principal's own entity.
    const self = workload(`spiffe://cluster.local/ns/shop/sa/w${Math.floor(random() * 3)}`, 'service') as WorkloadIdentity;
    return { ...self, delegation: { actor: self, actors: [self.spiffeId.toString()], depth: 1 } };
  }
  return identity;
}

describe('decisions shared between principals the policies cannot tell apart', () => {
  test.each([
    [41, 40, false],
    [42, 100, false],
    [43, 200, true],
  ])('equal the decision of each on its own (seed %i, %i policies, opaque: %s)', (seed, count, opaque) => {
    const texts = policySet(seed, count, opaque);
    const sharing = new CedarAuthorizer(prepare(texts), { namespaceLabels: labels });
    const reference = new CedarAuthorizer(prepare(texts), { cacheSize: 0, slicing: false, namespaceLabels: labels });
    const random = rng(seed * 31);
    const keys = jest.spyOn(SharedDecisions.prototype, 'key');
    // A few requests asked by many principals, so that decisions can be shared.
    const requests = Array.from({ length: 20 }, () => {
      const generated = randomRequest(random);
      return { ...generated, facts: { ...generated.facts, source: { ...generated.facts.source, port: random() < 0.8 ? 443 : 60000 } } };
    });
    for (let i = 0; i < 700; i++) {
      const generated = requests[Math.floor(random() * requests.length)]!;
      const identity = principal(random, generated.identity);
      const facts = generated.facts;
      const subject = parsedSubject(facts, generated.path);
      const got = sharing.authorize(identity, subject, facts);
      const want = reference.authorize(identity, subject, facts);
      expect({ i, decision: got.decision, determining: got.determining, errors: got.errors }).toEqual({ i, decision: want.decision, determining: want.determining, errors: want.errors });
    }
    // Only worth something if decisions were shared: shared keys made, and many of them met again.
    const made = keys.mock.results.map((result) => result.value).filter((key) => key !== undefined);
    keys.mockRestore();
    expect(made.length).toBeGreaterThan(opaque ? 50 : 300);
    expect(made.length - new Set(made).size).toBeGreaterThan(opaque ? 10 : 50);
  });

  test('a new workload of a namespace decided before costs no call into Cedar, and one named by a policy does', () => {
    const engine = prepare([
      '@id("shop-reads") permit (principal is Workload in Namespace::"shop", action in Action::"read", resource in Namespace::"shop") when { principal.class != "build" };',
      '@id("named") permit (principal == Workload::"spiffe://cluster.local/ns/shop/sa/named", action, resource);',
    ]);
    const authorizer = new CedarAuthorizer(engine);
    const calls = jest.spyOn(engine, 'authorizeAmong');
    const wholeSet = jest.spyOn(engine, 'authorize');
    const facts = randomRequest(rng(1)).facts;
    const request = { ...facts, method: 'GET', contextExtensions: new Map([['service', 'orders.shop']]) };
    const subject = parsedSubject(request, { path: '/api', query: '' });
    const ask = (id: string, workloadClass: 'service' | 'build' = 'service') => authorizer.authorize(workload(`spiffe://cluster.local/ns/shop/sa/${id}`, workloadClass), subject, request);
    const evaluations = () => calls.mock.calls.length + wholeSet.mock.calls.length;

    expect(ask('first').decision).toBe('allow');
    expect(evaluations()).toBe(1);
    expect(ask('second').decision).toBe('allow');
    expect(ask('third').determining).toEqual(['shop-reads']);
    expect(evaluations()).toBe(1);
    // The class is read, so a build job is a different question.
    expect(ask('fourth', 'build').decision).toBe('deny');
    expect(evaluations()).toBe(2);
    // A named principal is decided on its own.
    expect(ask('named', 'build').decision).toBe('allow');
    expect(evaluations()).toBe(3);
  });

  test('the view gives up on any use of the principal it does not understand', () => {
    const parse = (text: string) => {
      const engine = prepare([text]);
      return principalView(engine.policies.map((policy) => engine.policyJson(policy.id)));
    };
    expect(parse('permit (principal is Workload, action, resource) when { principal.class == "build" && principal has namespace };')).toEqual({ attributes: new Set(['class', 'namespace']) });
    expect(parse('permit (principal in Group::"sre", action, resource) when { principal in [Group::"dev", Group::"sre"] };')).toEqual({ attributes: new Set() });
    expect(parse('permit (principal is Workload, action, resource) when { context has actor && context.actor == principal };')).toBe('opaque');
    expect(parse('permit (principal is Workload, action, resource) when { context has actor && principal in context.actor };')).toBe('opaque');
    expect(parse('permit (principal is Workload, action, resource) when { [principal].isEmpty() };')).toBe('opaque');
  });
});
