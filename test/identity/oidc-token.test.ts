/**
 * Issue #14, "people are not bound to their issuer": a person is `User::"<userPrefix><sub>"` in
 * `Group::"<groupPrefix><group>"`, while the OpenID Connect subject rule still holds the raw `sub`.
 */
import { parseConfig, type JwtIssuerConfig } from '../../src/config.js';
import { principalName, upstreamPrincipal, type AuthnResult } from '../../src/core/identity.js';
import { ErrorCode } from '../../src/errors.js';
import { oidcUser } from '../../src/identity/oidc-token.js';

const corp = 'https://login.corp.example';
const partner = 'https://idp.partner.example';
const issuers = parseConfig({
  identity: {
    jwt: [
      { issuer: corp, kind: 'oidc', audiences: ['gatehouse'], jwksFile: '/k', userPrefix: 'corp:' },
      { issuer: partner, kind: 'oidc', audiences: ['gatehouse'], jwksFile: '/k', userPrefix: 'partner:', groupPrefix: 'partner-group:' },
    ],
  },
}).identity.jwt;
const single = parseConfig({ identity: { jwt: [{ issuer: corp, kind: 'oidc', audiences: ['gatehouse'], jwksFile: '/k' }] } }).identity.jwt[0]!;

function named(result: AuthnResult): { subject: string; name: string; groups: readonly string[]; cedar: string; upstream: string | undefined } | string {
  if (!result.ok) return result.code;
  if (result.identity.kind !== 'user') throw new Error('expected a person');
  const { subject, name, groups } = result.identity;
  return { subject, name, groups, cedar: principalName(result.identity), upstream: upstreamPrincipal(result.identity) };
}

test.each<[string, JwtIssuerConfig, string, unknown, ReturnType<typeof named>]>([
  ['the company names alice under its prefix', issuers[0]!, 'alice', ['sre'], { subject: 'alice', name: 'corp:alice', groups: ['corp:sre'], cedar: 'User::"corp:alice"', upstream: 'corp:alice' }],
  ["the partner's alice is not the company's", issuers[1]!, 'alice', ['sre'], { subject: 'alice', name: 'partner:alice', groups: ['partner-group:sre'], cedar: 'User::"partner:alice"', upstream: 'partner:alice' }],
  ["a partner sub spelling the company's prefix stays under the partner's", issuers[1]!, 'corp:alice', [], { subject: 'corp:alice', name: 'partner:corp:alice', groups: [], cedar: 'User::"partner:corp:alice"', upstream: 'partner:corp:alice' }],
  ['a partner group spelling the company prefix stays under the partner group prefix', issuers[1]!, 'bob', ['corp:sre'], { subject: 'bob', name: 'partner:bob', groups: ['partner-group:corp:sre'], cedar: 'User::"partner:bob"', upstream: 'partner:bob' }],
  ['one issuer without prefixes names people by sub', single, 'alice', ['sre'], { subject: 'alice', name: 'alice', groups: ['sre'], cedar: 'User::"alice"', upstream: 'alice' }],
  // The subject rule (OpenID Connect Core §2) is the raw sub's, whatever the prefix adds.
  ['a sub of 255 characters under a prefix', issuers[0]!, 'a'.repeat(255), [], { subject: 'a'.repeat(255), name: `corp:${'a'.repeat(255)}`, groups: [], cedar: `User::"corp:${'a'.repeat(255)}"`, upstream: `corp:${'a'.repeat(255)}` }],
  ['a sub of 256 characters under a prefix', issuers[0]!, 'a'.repeat(256), [], ErrorCode.badClaims],
  ['a sub with a control character under a prefix', issuers[0]!, 'ali\nce', [], ErrorCode.badClaims],
  ['groups that are not strings under a prefix', issuers[1]!, 'alice', [7], ErrorCode.badClaims],
])('%s', (_name, issuer, sub, groups, expected) => {
  expect(named(oidcUser(issuer, sub, groups, 2_000_000_000))).toEqual(expected);
});

test('a prefix that is not printable ASCII stops the start', () => {
  expect(() => parseConfig({ identity: { jwt: [{ issuer: corp, kind: 'oidc', audiences: ['gatehouse'], jwksFile: '/k', userPrefix: 'corp\n' }] } })).toThrow(
    /identity\.jwt\.0\.userPrefix: expected printable ASCII/,
  );
});
