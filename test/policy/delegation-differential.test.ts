/**
 * Adding delegation never turns a deny into an allow unless a policy names the actor. Random
 * policy sets (permits and forbids over workloads, groups and namespaces; some conditions read
 * `context.actor` or `context.delegation`, some name an actor's entity, most read neither) decide
 * random requests through the real `decide()` over Cedar, once for the principal alone and once
 * with an actor acting for it. Where the first is a deny and the second an allow, some determining
 * policy of either decision must read `context.actor` / `context.delegation` (found by walking
 * Cedar's JSON form, src/policy/reads.ts) or name the actor's entity. Seeded, so a failure
 * reproduces.
 */
import { checkLifecycle, decide, noLifecycle, type Mode } from '../../src/core/decide.js';
import { requestFacts } from '../../src/core/decode.js';
import type { Decision } from '../../src/core/decision.js';
import type { Identity, WorkloadClass, WorkloadIdentity } from '../../src/core/identity.js';
import { parseRequest } from '../../src/core/parse-request.js';
import { CedarAuthorizer } from '../../src/policy/authorizer.js';
import { PolicyEngine } from '../../src/policy/cedar/engine.js';
import { policyReads } from '../../src/policy/reads.js';
import { spiffeId } from '../support/expect-ok.js';
import { rng } from './generated-estate.js';
import { exampleSchema } from './policy-fixtures.js';

const namespaces = ['shop', 'ci', 'agents', 'ops'];
const accounts = ['frontend', 'orders', 'builder', 'assistant'];
const classes: readonly WorkloadClass[] = ['service', 'build', 'automation', 'agent', 'unknown'];
const groups = ['staff', 'on-call', 'sre'];
const services = ['orders.shop', 'tickets.support', 'artifacts.ci'];
const methods = ['GET', 'POST', 'DELETE'];
const paths = ['/api/orders', '/api/orders/7', '/admin/flags', '/'];
const id = (ns: string, sa: string) => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;

type Pick = <T>(xs: readonly T[]) => T;
const wl = (p: Pick) => `Workload::"${id(p(namespaces), p(accounts))}"`;

/** Policies that never look at who acts: the deny → allow flip must never come from them. */
const blind: ((p: Pick) => string)[] = [
  (p) => `permit (principal in Group::"${p(groups)}", action in Action::"${p(['read', 'write'])}", resource == Service::"${p(services)}");`,
  (p) => `permit (principal == ${wl(p)}, action, resource in Namespace::"${p(['shop', 'support', 'ci'])}") when { context.path like "/api/*" };`,
  (p) => `permit (principal is Workload in Namespace::"${p(namespaces)}", action == Action::"${p(methods)}", resource);`,
  (p) => `forbid (principal, action in Action::"write", resource == Service::"${p(services)}") when { context.path like "/admin/*" };`,
  (p) => `forbid (principal is Workload, action, resource) when { principal.class == "${p(classes)}" };`,
  (p) => `permit (principal is User, action == Action::"GET", resource) when { context.path == "${p(paths)}" };`,
  (p) => `forbid (principal in Group::"${p(groups)}", action == Action::"DELETE", resource);`,
];

/** Policies that name the actor, one way or another. */
const naming: ((p: Pick) => string)[] = [
  (p) => `permit (principal in Group::"${p(groups)}", action in Action::"read", resource) when { context has actor && context.actor.class == "${p(classes)}" };`,
  (p) => `permit (principal, action, resource == Service::"${p(services)}") when { context has actor && context.actor == ${wl(p)} };`,
  (p) => `permit (principal, action == Action::"${p(methods)}", resource) when { context has actor && context.actor in Namespace::"${p(namespaces)}" };`,
  (p) => `permit (principal is User, action, resource) when { context has delegation && context.delegation.actors.contains("${id(p(namespaces), p(accounts))}") };`,
  (p) => `permit (principal, action in Action::"read", resource) when { context has delegation && context.delegation.depth == ${p([1, 2])} };`,
  (p) => `forbid (principal, action, resource in Namespace::"${p(['shop', 'support'])}") when { context has actor && context.actor.class == "${p(['build', 'agent'])}" };`,
  // A forbid that stops applying once someone acts: its deny turns into an allow by the actor.
  (p) => `forbid (principal in Group::"${p(groups)}", action, resource) unless { context has actor };`,
  () => `forbid (principal, action, resource) when { context has delegation && context.delegation.depth > 1 };`,
  // Names an actor's entity, not context.actor: it reads that entity only when it is among the request's.
  (p) => `permit (principal, action, resource) when { ${wl(p)}.class == "${p(['agent', 'build'])}" };`,
];

function policySet(seed: number, count: number, namingShare: number): string[] {
  const random = rng(seed);
  const pick: Pick = (xs) => xs[Math.floor(random() * xs.length)]!;
  return Array.from({ length: count }, (_, i) => `@id("p${i}") ${(random() < namingShare ? pick(naming) : pick(blind))(pick)}`);
}

function randomCase(random: () => number): { principal: Identity; actor: WorkloadIdentity; earlier: string[]; method: string; path: string; service: string } {
  const pick: Pick = (xs) => xs[Math.floor(random() * xs.length)]!;
  const principal: Identity =
    random() < 0.7
      ? { kind: 'user', issuer: 'https://login.example.com', subject: pick(['alice', 'bob']), name: pick(['alice', 'bob']), groups: groups.filter(() => random() < 0.4) }
      : { kind: 'workload', spiffeId: spiffeId(id(pick(namespaces), pick(accounts))), class: pick(classes), authn: 'jwt' };
  const actor: WorkloadIdentity = { kind: 'workload', spiffeId: spiffeId(id(pick(namespaces), pick(accounts))), class: pick(classes), authn: 'mtls' };
  const earlier = random() < 0.3 ? [id(pick(namespaces), pick(accounts))] : [];
  return { principal, actor, earlier, method: pick(methods), path: pick(paths), service: pick(services) };
}

const mode: Mode = { dryRun: false, dryRunNamespaces: new Set() };
const limits = { maxHeaders: 100, maxHeaderBytes: 65536 };

describe('delegation never turns a deny into an allow unless a policy names the actor', () => {
  test.each([
    [1, 12, 0, 'no policy names an actor'],
    [2, 12, 0.4, 'some do'],
    [3, 24, 0.4, 'some do'],
    [4, 24, 0.7, 'most do'],
    [5, 40, 0.25, 'a few do'],
    [6, 8, 1, 'all do'],
  ])('seed %i: %i policies, share %d naming (%s)', (seed, count, share) => {
    const texts = policySet(seed, count, share);
    const prepared = PolicyEngine.prepare({ files: [{ name: 'generated.cedar', text: texts.join('\n') }], schemaText: exampleSchema, schemaFile: 'schema.cedarschema' });
    if (!prepared.ok) throw new Error(prepared.problems.map((problem) => problem.message).join('\n'));
    const engine = prepared.engine;
    const authorizer = new CedarAuthorizer(engine);
    const namesActor = (policy: string, actor: WorkloadIdentity): boolean => {
      const json = engine.policyJson(policy);
      if (json === undefined) return true;
      const reads = policyReads([json]).context;
      return reads.has('actor') || reads.has('delegation') || JSON.stringify(json).includes(JSON.stringify(actor.spiffeId.toString()));
    };
    const run = (identity: Identity, method: string, path: string, service: string): Decision => {
      const facts = requestFacts({ attributes: { request: { http: { method, path, host: service, headers: {} } }, context_extensions: { service } } }, limits);
      return decide({ parsed: parseRequest(facts), facts, authn: checkLifecycle({ ok: true, identity }, noLifecycle, 0), authorizer, mode });
    };
    const determining = (decision: Decision): readonly string[] => (decision.kind === 'unavailable' ? [] : decision.policies);

    const random = rng(seed * 104_729);
    const tally = { flipsToAllow: 0, flipsToDeny: 0, same: 0 };
    for (let i = 0; i < 400; i++) {
      const { principal, actor, earlier, method, path, service } = randomCase(random);
      const acting: Identity = { ...principal, delegation: { actor, actors: [actor.spiffeId.toString(), ...earlier], depth: 1 + earlier.length } } as Identity;
      const alone = run(principal, method, path, service);
      const withActor = run(acting, method, path, service);
      if (alone.kind === 'deny' && withActor.kind === 'allow') {
        tally.flipsToAllow += 1;
        const responsible = [...determining(alone), ...determining(withActor)];
        expect({ i, texts: responsible.map((policy) => texts[Number(policy.slice(1))]), namesActor: responsible.some((policy) => namesActor(policy, actor)) }).toMatchObject({ i, namesActor: true });
      } else if (alone.kind === 'allow' && withActor.kind === 'deny') tally.flipsToDeny += 1;
      else tally.same += 1;
    }
    // A set where nothing names an actor must decide alike with and without one, both ways.
    if (share === 0) expect(tally).toMatchObject({ flipsToAllow: 0, flipsToDeny: 0 });
    else expect(tally.flipsToAllow + tally.flipsToDeny).toBeGreaterThan(0);
  });
});
