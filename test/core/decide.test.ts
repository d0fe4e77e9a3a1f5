import type { CedarRequest } from '../../src/core/cedar-request.js';
import { checkLifecycle, decide, noLifecycle, type Authorizer, type Lifecycle, type Mode } from '../../src/core/decide.js';
import { requestFacts } from '../../src/core/decode.js';
import type { Decision } from '../../src/core/decision.js';
import type { AuthnResult, Identity } from '../../src/core/identity.js';
import { parseRequest } from '../../src/core/parse-request.js';
import type { RequestFacts } from '../../src/core/request-facts.js';
import { spiffeId } from '../support/expect-ok.js';

const limits = { maxHeaders: 100, maxHeaderBytes: 65536 };
const frontend: Identity = { kind: 'workload', spiffeId: spiffeId('spiffe://cluster.local/ns/shop/sa/frontend'), class: 'service', authn: 'mtls' };
const ok = (identity: Identity): AuthnResult => ({ ok: true, identity });

/** Allows exactly GET on /api/*; records what it was asked. */
const authorizer: Authorizer & { asked: string[] } = {
  version: 'v1',
  knownActions: new Set(['GET', 'POST']),
  asked: [],
  authorize(_identity, request) {
    this.asked.push(request.path);
    const allow = request.method === 'GET' && request.path.startsWith('/api/');
    return { decision: allow ? 'allow' : 'deny', determining: allow ? ['p-allow'] : [], errors: [], evaluated: () => evaluated };
  },
  // Reads x-env, as a forbid comparing it would.
  ambiguity(_request, facts) {
    return facts.repeatedHeaders.has('x-env') ? 'x-env repeated' : undefined;
  },
};
const evaluated: CedarRequest = { principal: { type: 'Anonymous', id: 'anonymous' }, action: { type: 'Action', id: 'GET' }, resource: { type: 'Service', id: 's' }, context: {}, entities: [] };

/** The pipeline's parse → lifecycle → decide, in that order, for one request. */
function decideFor(facts: RequestFacts, authn: AuthnResult, options: { authorizer?: Authorizer; lifecycle?: Lifecycle; mode?: Mode } = {}): Decision {
  const chosen = 'authorizer' in options ? options.authorizer : authorizer;
  return decide({ parsed: parseRequest(facts), facts, authn: checkLifecycle(authn, options.lifecycle ?? noLifecycle, 0), authorizer: chosen, mode: options.mode ?? mode });
}

const request = (method: string, path: string, host = 'orders.shop.svc.cluster.local:8080', extra: { service?: string; destination?: string } = {}) =>
  requestFacts(
    {
      attributes: {
        request: { http: { method, path, host, headers: {} } },
        ...(extra.destination ? { destination: { principal: extra.destination } } : {}),
        ...(extra.service ? { context_extensions: { service: extra.service } } : {}),
      },
    },
    limits,
  );

const mode: Mode = { dryRun: false, dryRunNamespaces: new Set<string>() };

describe('decide', () => {
  test.each([
    ['a permitted request', 'GET', '/api/orders?x=1', ok(frontend), { kind: 'allow', policies: ['p-allow'] }],
    ['no permit', 'POST', '/api/orders', ok(frontend), { kind: 'deny', status: 'forbidden', code: 'policy_denied' }],
    ['anonymous and denied', 'POST', '/api/orders', ok({ kind: 'anonymous' }), { kind: 'deny', status: 'unauthenticated', code: 'policy_denied' }],
    ['an invalid credential', 'GET', '/api/orders', { ok: false, code: 'token_expired', detail: 'expired', authn: 'jwt' } as AuthnResult, { kind: 'deny', status: 'unauthenticated', code: 'token_expired' }],
    ['an unknown method', 'BREW', '/api/orders', ok(frontend), { kind: 'deny', status: 'forbidden', code: 'bad_request' }],
    ['an encoded slash', 'GET', '/api%2Forders', ok(frontend), { kind: 'deny', status: 'forbidden', code: 'bad_path' }],
  ])('%s', (_name, method, path, authn, expected) => {
    const decision = decideFor(request(method, path), authn);
    expect(decision).toMatchObject(expected);
  });

  test('dot segments are removed before policies see the path', () => {
    authorizer.asked.length = 0;
    const decision = decideFor(request('GET', '/public/../api/orders'), ok(frontend));
    expect(authorizer.asked).toEqual(['/api/orders']);
    expect(decision.kind).toBe('allow');
  });

  test('no policy set: unavailable, never an allow', () => {
    const decision = decideFor(request('GET', '/api/x'), ok(frontend), { authorizer: undefined });
    expect(decision).toMatchObject({ kind: 'unavailable', code: 'no_policy_set' });
  });

  test('decode problems deny before anything else is asked', () => {
    const facts = requestFacts({ attributes: { request: { http: { method: 'GET', path: '/api/x', headers: { 'x-a': 'a\r\nb' } } } } }, limits);
    const decision = decideFor(facts, ok(frontend));
    expect(decision).toMatchObject({ kind: 'deny', code: 'bad_request' });
  });

  test('a revoked identity is unauthenticated even though its credential verified', () => {
    const revoked: Lifecycle = { check: () => ({ ok: false, code: 'credential_revoked', reason: 'pod deleted' }), checkActor: (identity) => ({ ok: true, identity }) };
    const decision = decideFor(request('GET', '/api/x'), ok(frontend), { lifecycle: revoked });
    expect(decision).toMatchObject({ kind: 'deny', status: 'unauthenticated', code: 'credential_revoked' });
    // The log still names whose credential was revoked.
    expect(decision.kind === 'deny' && decision.identity).toBe(frontend);
  });

  describe('revocation follows the actor', () => {
    const builder = { kind: 'workload', spiffeId: spiffeId('spiffe://cluster.local/ns/ci/sa/builder'), class: 'unknown', authn: 'mtls' } as const;
    const alice: Identity = { kind: 'user', issuer: 'https://idp', subject: 'alice', name: 'alice', groups: [], delegation: { actor: builder, actors: [builder.spiffeId.toString()], depth: 1 } };
    const actorsOnly = (verdict: 'revoked' | 'unknown' | 'build'): Lifecycle => ({
      check: (identity) => ({ ok: true, identity }),
      checkActor: (actor) =>
        verdict === 'build'
          ? { ok: true, identity: { ...actor, class: 'build' } }
          : { ok: false, code: verdict === 'revoked' ? 'credential_revoked' : 'liveness_unknown', reason: 'service account ci/builder does not exist in the cluster' },
    });

    test.each([
      ['a gone actor ends the person\'s request, naming the actor', 'revoked', 'credential_revoked'],
      ['an actor whose liveness is unknown, likewise', 'unknown', 'liveness_unknown'],
    ] as const)('%s', (_name, verdict, code) => {
      const result = checkLifecycle(ok(alice), actorsOnly(verdict), 0);
      expect(result).toEqual({ ok: false, code, detail: 'actor: service account ci/builder does not exist in the cluster', authn: 'jwt', identity: alice });
    });

    test('a live actor takes the class the lifecycle gives it', () => {
      const result = checkLifecycle(ok(alice), actorsOnly('build'), 0);
      expect(result.ok && result.identity.kind === 'user' && result.identity.delegation?.actor?.class).toBe('build');
    });

    test('the identity with its reclassified actor is made once per pair of frozen identity and actor objects', () => {
      const frozenAlice = Object.freeze({ ...alice });
      const classes = new Map<string, Identity>();
      const actorAs = (cls: 'build' | 'agent') => classes.get(cls) ?? classes.set(cls, Object.freeze({ ...builder, class: cls })).get(cls)!;
      let current: 'build' | 'agent' = 'build';
      const lifecycle: Lifecycle = { check: (identity) => ({ ok: true, identity }), checkActor: () => ({ ok: true, identity: actorAs(current) as typeof builder }) };
      const identityOf = (identity: Identity): Identity => {
        const result = checkLifecycle(ok(identity), lifecycle, 0);
        if (!result.ok) throw new Error(result.detail);
        return result.identity;
      };
      const first = identityOf(frozenAlice);
      expect(first.kind === 'user' && first.delegation?.actor?.class).toBe('build');
      expect(identityOf(frozenAlice)).toBe(first);
      current = 'agent';
      const second = identityOf(frozenAlice);
      expect(second.kind === 'user' && second.delegation?.actor?.class).toBe('agent');
      expect(identityOf(frozenAlice)).toBe(second);
      // An identity that is not frozen could change: a copy is made each time.
      const unfrozen = { ...alice };
      const copy = identityOf(unfrozen);
      expect(identityOf(unfrozen)).not.toBe(copy);
      expect(identityOf(unfrozen)).toEqual(copy);
    });
  });

  test('an allow in a dry-run namespace is an allow, marked for the log', () => {
    const facts = request('GET', '/api/x', 'orders.shop', { service: 'orders.shop' });
    const decision = decideFor(facts, ok(frontend), { mode: { dryRun: false, dryRunNamespaces: new Set(['shop']) } });
    expect(decision).toMatchObject({ kind: 'allow', dryRun: true });
  });

  const ordersWorkload = 'spiffe://cluster.local/ns/shop/sa/orders';
  test.each([
    ['global dry-run', { dryRun: true, dryRunNamespaces: new Set<string>() }, {}, true],
    ['dry-run for the namespace the route names', { dryRun: false, dryRunNamespaces: new Set(['shop']) }, { service: 'orders.shop' }, true],
    ['dry-run for the destination workload namespace', { dryRun: false, dryRunNamespaces: new Set(['shop']) }, { destination: ordersWorkload }, true],
    ['dry-run for another namespace', { dryRun: false, dryRunNamespaces: new Set(['billing']) }, { service: 'orders.shop' }, false],
    // Regression: a caller could put any namespace in the Host header and be let through as a dry-run.
    ['dry-run named only by the caller-controlled host', { dryRun: false, dryRunNamespaces: new Set(['shop']) }, {}, false],
  ])('%s', (_name, dryMode, extra, dryRun) => {
    const decision = decideFor(request('POST', '/api/x', 'orders.shop', extra), ok(frontend), { mode: dryMode });
    expect(decision).toMatchObject({ kind: 'deny', dryRun });
  });

  // Regression: in a sidecar, the Host header chose which service's policies judged the request.
  test('a host in another namespace than the destination workload is refused', () => {
    const facts = request('GET', '/api/x', 'public.billing', { destination: ordersWorkload });
    const decision = decideFor(facts, ok(frontend));
    expect(decision).toMatchObject({ kind: 'deny', code: 'destination_mismatch' });
  });

  test('a route-named service is not second-guessed by the destination', () => {
    const facts = request('GET', '/api/x', 'anything', { destination: 'spiffe://cluster.local/ns/edge/sa/gateway', service: 'orders.shop' });
    expect(decideFor(facts, ok(frontend)).kind).toBe('allow');
  });

  test('a header policies read, repeated with different values, is refused before Cedar', () => {
    authorizer.asked.length = 0;
    const facts = requestFacts(
      { attributes: { request: { http: { method: 'GET', path: '/api/x', host: 'orders.shop', header_map: { headers: [{ key: 'x-env', value: 'prod' }, { key: 'x-env', value: 'dev' }] } } } } },
      limits,
    );
    expect(decideFor(facts, ok(frontend))).toMatchObject({ kind: 'deny', status: 'forbidden', code: 'ambiguous_parameter' });
    expect(authorizer.asked).toEqual([]);
  });
});
