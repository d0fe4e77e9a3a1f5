import { X509Certificate } from 'node:crypto';
import type { AuthnResult, Identity } from '../../src/core/identity.js';
import { requestFacts } from '../../src/core/decode.js';
import { classifierFromRules } from '../../src/identity/classify.js';
import { bearerToken, IdentityResolver, type TokenVerification } from '../../src/identity/resolve.js';
import { makeTestCa, type TestCa } from '../support/certs.js';
import { spiffeId as spiffe } from '../support/expect-ok.js';

const limits = { maxHeaders: 100, maxHeaderBytes: 65536 };
const now = Math.floor(Date.now() / 1000);
const frontendUri = 'spiffe://cluster.local/ns/shop/sa/frontend';
const assistantUri = 'spiffe://cluster.local/ns/agents/sa/assistant';
const builderUri = 'spiffe://cluster.local/ns/ci/sa/builder';

/** Tokens are verified for real in jwt.test.ts; here a table maps token text to outcomes. */
const tokens: TokenVerification = {
  async verify(token) {
    const table: Record<string, AuthnResult> = {
      'frontend-token': { ok: true, identity: { kind: 'workload', spiffeId: spiffe(frontendUri), class: 'unknown', authn: 'jwt', issuer: 'k8s' } },
      'orders-token': { ok: true, identity: { kind: 'workload', spiffeId: spiffe('spiffe://cluster.local/ns/shop/sa/orders'), class: 'unknown', authn: 'jwt', issuer: 'k8s' } },
      'alice-token': { ok: true, identity: { kind: 'user', issuer: 'idp', subject: 'alice', name: 'alice', groups: ['sre'] } },
      'alice-via-assistant': {
        ok: true,
        identity: {
          kind: 'user',
          issuer: 'idp',
          subject: 'alice',
          name: 'alice',
          groups: ['sre'],
          delegation: {
            actor: { kind: 'workload', spiffeId: spiffe(assistantUri), class: 'unknown', authn: 'jwt', issuer: 'idp' },
            actors: [assistantUri, builderUri],
            depth: 2,
          },
        },
      },
      'alice-via-bot': { ok: true, identity: { kind: 'user', issuer: 'idp', subject: 'alice', name: 'alice', groups: [], delegation: { actors: ['ci-bot'], depth: 1 } } },
    };
    return table[token] ?? { ok: false, code: 'signature_invalid', detail: 'bad', authn: 'jwt' };
  },
};

function facts(opts: { principal?: string; certificate?: string; headers?: Record<string, string> }) {
  return requestFacts(
    {
      attributes: {
        source: { principal: opts.principal ?? '', certificate: opts.certificate ?? '' },
        request: { http: { method: 'GET', path: '/', headers: opts.headers ?? {} } },
      },
    },
    limits,
  );
}

function resolver(over: { trustForwardedClientCert?: boolean; bundle?: string } = {}) {
  return new IdentityResolver(resolverOptions(over));
}

function resolverOptions(over: { trustForwardedClientCert?: boolean; bundle?: string } = {}) {
  return {
    mtls: {
      trustDomains: new Set(['cluster.local']),
      bundles: over.bundle ? new Map([['cluster.local', [new X509Certificate(over.bundle)]]]) : new Map(),
      classify: classifierFromRules([
        { class: 'build', namespace: 'ci' },
        { class: 'agent', namespace: 'agents' },
        { class: 'service', trustDomain: 'cluster.local', pathPattern: '/ns/shop/**' },
      ]),
    },
    trustForwardedClientCert: over.trustForwardedClientCert ?? false,
    tokens,
  };
}

const workloadOf = (result: AuthnResult): string => {
  if (!result.ok) return `refused:${result.code}`;
  const identity: Identity = result.identity;
  if (identity.kind === 'workload') return `${identity.authn}:${identity.spiffeId.toString()}:${identity.class}`;
  return identity.kind === 'user' ? `user:${identity.subject}` : 'anonymous';
};

/** Who acts for the principal, as one comparable line. */
const actingOf = (result: AuthnResult): string => {
  if (!result.ok) return `refused:${result.code}`;
  const { identity } = result;
  const delegation = identity.kind === 'anonymous' ? undefined : identity.delegation;
  if (delegation === undefined) return `${workloadOf(result)} alone`;
  const actor = delegation.actor ? `${delegation.actor.authn}:${delegation.actor.spiffeId.toString()}:${delegation.actor.class}` : '-';
  return `${workloadOf(result)} by ${actor} [${delegation.actors.join(' ')}] ${delegation.depth}`;
};

describe('IdentityResolver: who acts for whom', () => {
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  test.each([
    ['a person over mTLS: the workload is the actor', { principal: frontendUri, headers: bearer('alice-token') }, `user:alice by mtls:${frontendUri}:service [${frontendUri}] 1`],
    ['a build job carrying a person keeps its class', { principal: builderUri, headers: bearer('alice-token') }, `user:alice by mtls:${builderUri}:build [${builderUri}] 1`],
    ['a person without mTLS: nobody acts', { headers: bearer('alice-token') }, 'user:alice alone'],
    ['a workload with its own credential: nobody acts', { principal: frontendUri, headers: bearer('frontend-token') }, `jwt:${frontendUri}:service alone`],
    ['act without an mTLS peer: the actor is classified', { headers: bearer('alice-via-assistant') }, `user:alice by jwt:${assistantUri}:agent [${assistantUri} ${builderUri}] 2`],
    ['act presented by its actor over mTLS', { principal: assistantUri, headers: bearer('alice-via-assistant') }, `user:alice by mtls:${assistantUri}:agent [${assistantUri} ${builderUri}] 2`],
    ['act presented by another workload', { principal: frontendUri, headers: bearer('alice-via-assistant') }, 'refused:identity_mismatch'],
    ['a non-SPIFFE actor without mTLS', { headers: bearer('alice-via-bot') }, 'user:alice by - [ci-bot] 1'],
    ['a non-SPIFFE actor cannot be an mTLS peer', { principal: frontendUri, headers: bearer('alice-via-bot') }, 'refused:identity_mismatch'],
  ])('%s', async (_name, input, expected) => {
    expect(actingOf(await resolver().resolve(facts(input), now))).toBe(expected);
  });
});

describe('IdentityResolver', () => {
  test.each([
    ['nothing presented', {}, 'anonymous'],
    ['an mTLS principal', { principal: frontendUri }, `mtls:${frontendUri}:service`],
    ['a build job classified by namespace', { principal: 'spiffe://cluster.local/ns/ci/sa/builder' }, 'mtls:spiffe://cluster.local/ns/ci/sa/builder:build'],
    ['a foreign trust domain', { principal: 'spiffe://evil.example/ns/shop/sa/frontend' }, 'refused:untrusted_trust_domain'],
    ['a malformed SPIFFE ID', { principal: 'spiffe://cluster.local/ns/../sa/x' }, 'refused:malformed_spiffe_id'],
    ['an upper-case scheme (issue #14)', { principal: 'SPIFFE://cluster.local/ns/shop/sa/frontend' }, 'refused:malformed_spiffe_id'],
    ['a mixed-case scheme (issue #14)', { principal: 'Spiffe://cluster.local/ns/shop/sa/frontend' }, 'refused:malformed_spiffe_id'],
    // A token's workload is classified by the same rules as an mTLS peer (it used to stay
    // "unknown": see test/fuzz/regressions.test.ts).
    ['a token only', { headers: { authorization: 'Bearer frontend-token' } }, `jwt:${frontendUri}:service`],
    ['mTLS and a token for the same workload', { principal: frontendUri, headers: { authorization: 'Bearer frontend-token' } }, `jwt:${frontendUri}:service`],
    ['mTLS and a token naming different workloads', { principal: frontendUri, headers: { authorization: 'Bearer orders-token' } }, 'refused:identity_mismatch'],
    ['a valid mTLS peer with an invalid token', { principal: frontendUri, headers: { authorization: 'Bearer forged' } }, 'refused:signature_invalid'],
    ['a person carried by a workload', { principal: frontendUri, headers: { authorization: 'Bearer alice-token' } }, 'user:alice'],
    ['two Authorization headers joined', { headers: { authorization: 'Bearer frontend-token,Bearer orders-token' } }, 'refused:signature_invalid'],
    ['a non-Bearer scheme is for the upstream', { headers: { authorization: 'Basic dXNlcjpwYXNz' } }, 'anonymous'],
    ['a spoofed XFCC while it is not trusted', { headers: { 'x-forwarded-client-cert': `URI=${frontendUri}` } }, 'anonymous'],
  ])('%s', async (_name, input, expected) => {
    expect(workloadOf(await resolver().resolve(facts(input), now))).toBe(expected);
  });

  test.each([
    ['the last element is the immediate client', `URI=spiffe://cluster.local/ns/edge/sa/gw,By=x;URI=${frontendUri}`, `mtls:${frontendUri}:service`],
    ['a foreign trust domain', 'URI=spiffe://evil.example/ns/a/sa/b', 'refused:untrusted_trust_domain'],
    ['no SPIFFE URI in the last element', 'Hash=abc', 'refused:malformed_xfcc'],
    // Issue #14: the scheme is lower case in XFCC too, so an upper-case URI is no SPIFFE URI at all.
    ['an upper-case scheme is no SPIFFE URI', 'URI=SPIFFE://cluster.local/ns/shop/sa/frontend', 'refused:malformed_xfcc'],
    ['an upper-case URI beside a lower-case one is not counted', `URI=SPIFFE://cluster.local/ns/shop/sa/admin;URI=${frontendUri}`, `mtls:${frontendUri}:service`],
    ['a malformed header', 'URI="unterminated', 'refused:malformed_xfcc'],
  ])('trusted XFCC: %s', async (_name, header, expected) => {
    const result = await resolver({ trustForwardedClientCert: true }).resolve(facts({ principal: 'spiffe://cluster.local/ns/edge/sa/gw', headers: { 'x-forwarded-client-cert': header } }), now);
    expect(workloadOf(result)).toBe(expected);
  });

  // Regression: a malformed mTLS principal was reported as a "forwarded client certificate",
  // sending operators to look for an XFCC header that was never sent.
  test.each([
    ['a malformed mTLS principal', { principal: 'spiffe://cluster.local/ns/../sa/x' }, {}, /^mTLS peer principal \(source\.principal\): /],
    ['a malformed mTLS principal with a certificate', { principal: 'spiffe://cluster.local/ns/a//sa/b', certificate: 'x' }, {}, /^mTLS peer principal \(source\.principal\): /],
    [
      'a malformed SPIFFE ID in trusted XFCC',
      { headers: { 'x-forwarded-client-cert': 'URI=spiffe://cluster.local/ns/../sa/x' } },
      { trustForwardedClientCert: true },
      /^forwarded client certificate \(x-forwarded-client-cert\): /,
    ],
  ])('the refusal of %s names where the credential came from', async (_name, input, over, detail) => {
    const result = await resolver(over).resolve(facts(input), now);
    expect(result).toMatchObject({ ok: false, code: 'malformed_spiffe_id', authn: 'mtls' });
    expect(result.ok ? '' : result.detail).toMatch(detail);
  });

  describe('peer certificates', () => {
    let ca: TestCa;
    let other: TestCa;
    beforeAll(() => {
      ca = makeTestCa();
      other = makeTestCa();
    });
    const encoded = (pem: string) => encodeURIComponent(pem);

    test('a certificate whose only URI SAN is the principal is accepted', async () => {
      const cert = ca.issue('frontend', [frontendUri]);
      // Now, not the module's load time: openssl dates the certificate from the moment it is
      // issued, which on a busy machine falls a second or more after the file was loaded.
      const result = await resolver({ bundle: ca.caPem }).resolve(facts({ principal: frontendUri, certificate: encoded(cert) }), Math.floor(Date.now() / 1000));
      expect(workloadOf(result)).toBe(`mtls:${frontendUri}:service`);
    });

    test.each([
      ['a certificate for another workload', () => ca.issue('orders', ['spiffe://cluster.local/ns/shop/sa/orders']), 'refused:certificate_mismatch'],
      ['a certificate with two URI SANs', () => ca.issue('two', [frontendUri, 'spiffe://cluster.local/ns/shop/sa/orders']), 'refused:certificate_mismatch'],
      ['a certificate with no URI SAN', () => ca.issue('none', []), 'refused:certificate_mismatch'],
      ['a certificate from another CA', () => other.issue('frontend', [frontendUri]), 'refused:certificate_invalid'],
      ['garbage', () => 'not a certificate', 'refused:certificate_invalid'],
    ])('%s is refused', async (_name, make, expected) => {
      const result = await resolver({ bundle: ca.caPem }).resolve(facts({ principal: frontendUri, certificate: encoded(make()) }), now);
      expect(workloadOf(result)).toBe(expected);
    });

    // RFC 9440: a TLS-terminating proxy's account of the client, believed like XFCC and only when trusted.
    describe('RFC 9440 client-cert', () => {
      const clientCert = (pem: string) => `:${new X509Certificate(pem).raw.toString('base64')}:`;
      test.each([
        ['one SPIFFE URI', () => clientCert(ca.issue('frontend-cc', [frontendUri])), true, `mtls:${frontendUri}:service`],
        ['not trusted: ignored, the caller is anonymous', () => clientCert(ca.issue('frontend-cc2', [frontendUri])), false, 'anonymous'],
        ['two SPIFFE URIs', () => clientCert(ca.issue('two-cc', [frontendUri, 'spiffe://cluster.local/ns/shop/sa/orders'])), true, 'refused:malformed_xfcc'],
        ['no SPIFFE URI', () => clientCert(ca.issue('none-cc', [])), true, 'refused:malformed_xfcc'],
        ['a foreign trust domain', () => clientCert(ca.issue('evil-cc', ['spiffe://evil.example/ns/a/sa/b'])), true, 'refused:untrusted_trust_domain'],
        ['not a byte sequence', () => 'MIIB', true, 'refused:malformed_xfcc'],
        ['a byte sequence that is no certificate', () => ':aGVsbG8=:', true, 'refused:malformed_xfcc'],
      ])('%s', async (_name, make, trusted, expected) => {
        const result = await resolver({ trustForwardedClientCert: trusted }).resolve(facts({ headers: { 'client-cert': make() } }), Math.floor(Date.now() / 1000));
        expect(workloadOf(result)).toBe(expected);
      });

      test('sent together with x-forwarded-client-cert, neither is believed', async () => {
        const headers = { 'client-cert': clientCert(ca.issue('frontend-cc3', [frontendUri])), 'x-forwarded-client-cert': `URI=${frontendUri}` };
        const result = await resolver({ trustForwardedClientCert: true }).resolve(facts({ headers }), now);
        expect(result).toMatchObject({ ok: false, code: 'malformed_xfcc', detail: 'both x-forwarded-client-cert and client-cert were sent' });
      });
    });

    test('an expired certificate is refused when a bundle is configured', async () => {
      const cert = ca.issue('frontend-old', [frontendUri]);
      const later = Date.parse(new X509Certificate(cert).validTo) / 1000 + 60;
      const result = await resolver({ bundle: ca.caPem }).resolve(facts({ principal: frontendUri, certificate: encoded(cert) }), later);
      expect(workloadOf(result)).toBe('refused:certificate_invalid');
    });

    test('with a bundle, a missing certificate is refused', async () => {
      const result = await resolver({ bundle: ca.caPem }).resolve(facts({ principal: frontendUri }), now);
      expect(workloadOf(result)).toBe('refused:certificate_invalid');
    });
  });
});

describe('bearerToken', () => {
  test.each([
    [undefined, undefined],
    ['Bearer abc', 'abc'],
    ['bearer   abc  ', 'abc'],
    ['Bearer', ''],
    ['Bearer a b', 'a b'],
    ['Basic abc', undefined],
    ['Bearerabc', undefined],
  ])('%j → %j', (header, expected) => {
    expect(bearerToken(header)).toBe(expected);
  });

  test('every spelling reads as the regular expression of the scheme reads it (the usual one has a shortcut)', () => {
    const reference = (header: string): string | undefined => {
      const match = /^\s*bearer(?:\s+|$)(.*)$/is.exec(header);
      return match ? (match[1] ?? '').trim() : undefined;
    };
    const spaces = ['', ' ', '  ', '\t', '\n', '\u00a0', '\u2028', '\ufeff', '\r\n'];
    const schemes = ['Bearer', 'bearer', 'BEARER', 'Bearer:', 'Bearerx', 'Basic'];
    const tokens = ['', 'abc', 'a b', ' abc', 'abc ', '\u00a0abc', 'a\nb', 'eyJ.x.y'];
    const wrong: string[] = [];
    for (const before of spaces) for (const scheme of schemes) for (const between of spaces) for (const token of tokens) {
      const header = `${before}${scheme}${between}${token}`;
      if (bearerToken(header) !== reference(header)) wrong.push(JSON.stringify(header));
    }
    expect(wrong).toEqual([]);
  });
});

describe('remembered token identities', () => {
  // As the token verifier hands them out: one frozen identity per token, for as long as it is cached.
  const remembered: Record<string, AuthnResult> = {
    'builder-token': { ok: true, identity: Object.freeze({ kind: 'workload', spiffeId: spiffe(builderUri), class: 'unknown', authn: 'jwt', issuer: 'k8s' }) },
    'frontend-token': { ok: true, identity: Object.freeze({ kind: 'workload', spiffeId: spiffe(frontendUri), class: 'unknown', authn: 'jwt', issuer: 'k8s' }) },
    'classed-token': { ok: true, identity: Object.freeze({ kind: 'workload', spiffeId: spiffe(frontendUri), class: 'agent', authn: 'jwt', issuer: 'k8s' }) },
    'person-token': { ok: true, identity: Object.freeze({ kind: 'user', issuer: 'idp', subject: 'alice', name: 'alice', groups: Object.freeze(['sre']) }) },
    'person-via-agent': {
      ok: true,
      identity: Object.freeze({
        kind: 'user',
        issuer: 'idp',
        subject: 'alice',
        name: 'alice',
        groups: Object.freeze(['sre']),
        delegation: Object.freeze({ actor: Object.freeze({ kind: 'workload', spiffeId: spiffe(assistantUri), class: 'unknown', authn: 'jwt', issuer: 'idp' }), actors: Object.freeze([assistantUri]), depth: 1 }),
      }),
    },
  };
  const classOf = (result: AuthnResult): string => {
    if (!result.ok) return 'refused';
    const { identity } = result;
    if (identity.kind === 'workload') return identity.class;
    return identity.kind === 'user' ? `user, actor ${identity.delegation?.actor?.class ?? 'none'}` : 'anonymous';
  };

  test('each is classified once: its requests share one identity, every token keeps its own class', () => {
    const resolve = new IdentityResolver({ ...resolverOptions(), tokens: { verify: (token) => remembered[token] ?? { ok: false, code: 'signature_invalid', detail: 'bad', authn: 'jwt' } } });
    const order = ['builder-token', 'frontend-token', 'builder-token', 'classed-token', 'person-via-agent', 'frontend-token', 'person-via-agent', 'builder-token'];
    const seen = new Map<string, Identity>();
    const classes = order.map((token) => {
      const result = resolve.resolve(facts({ headers: { authorization: `Bearer ${token}` } }), now) as AuthnResult;
      if (result.ok) {
        const first = seen.get(token);
        if (first === undefined) seen.set(token, result.identity);
        else expect(result.identity).toBe(first);
      }
      return `${token}: ${classOf(result)}`;
    });
    expect(classes).toEqual([
      'builder-token: build',
      'frontend-token: service',
      'builder-token: build',
      'classed-token: agent',
      'person-via-agent: user, actor agent',
      'frontend-token: service',
      'person-via-agent: user, actor agent',
      'builder-token: build',
    ]);
  });

  test('a token carried over mTLS is one identity per (token, peer): each request of the pair shares it, another peer gets its own', () => {
    const resolve = new IdentityResolver({ ...resolverOptions(), tokens: { verify: (token) => remembered[token] ?? { ok: false, code: 'signature_invalid', detail: 'bad', authn: 'jwt' } } });
    const carriedBy = (principal: string, token: string): Identity => {
      const result = resolve.resolve(facts({ principal, headers: { authorization: `Bearer ${token}` } }), now) as AuthnResult;
      if (!result.ok) throw new Error(result.detail);
      return result.identity;
    };
    const actorOf = (identity: Identity): string => (identity.kind === 'user' ? `${identity.delegation?.actor?.spiffeId.toString()} ${identity.delegation?.actor?.class}` : 'none');
    const byFrontend = carriedBy(frontendUri, 'person-token');
    expect(actorOf(byFrontend)).toBe(`${frontendUri} service`);
    expect(Object.isFrozen(byFrontend)).toBe(true);
    expect(carriedBy(frontendUri, 'person-token')).toBe(byFrontend);
    const byBuilder = carriedBy(builderUri, 'person-token');
    expect(actorOf(byBuilder)).toBe(`${builderUri} build`);
    expect(carriedBy(builderUri, 'person-token')).toBe(byBuilder);
    expect(carriedBy(frontendUri, 'person-token')).toEqual(byFrontend);
    // A token whose act claim names its actor, presented by that actor: likewise.
    const byAssistant = carriedBy(assistantUri, 'person-via-agent');
    expect(actorOf(byAssistant)).toBe(`${assistantUri} agent`);
    expect(carriedBy(assistantUri, 'person-via-agent')).toBe(byAssistant);
    // The same token presented by another workload is still refused.
    expect(() => carriedBy(frontendUri, 'person-via-agent')).toThrow(/is not the token's current actor/);
  });
});
