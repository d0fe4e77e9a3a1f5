// SPIFFE-ID.md §2.1: a trust domain name is at most 255 bytes, and every valid one is ASCII.
const MAX_TRUST_DOMAIN_BYTES = 255;

declare const validTrustDomain: unique symbol;

/**
 * A SPIFFE trust domain name (`cluster.local`), valid by construction: made only by parsing a
 * SpiffeId or by the configuration's check, both through trustDomainProblem. A string underneath, so sets and comparisons of
 * trust domains stay plain, but no unchecked string can pass for one.
 */
export type TrustDomain = string & { readonly [validTrustDomain]: true };

/** Why `name` is not a trust domain name (lower-case letters, digits, `.`, `-`, `_`), or undefined. */
export function trustDomainProblem(name: string): string | undefined {
  if (name === '') return 'trust domain is missing';
  // Before the character scan, so `user:pass@host` is named for its user info, not its colon.
  if (name.includes('@')) return 'trust domain must not have user info';
  for (const char of name) {
    if (/^[a-z0-9._-]$/.test(char)) continue;
    if (/^[A-Z]$/.test(char)) return 'trust domain must be lower case';
    if (char === ':') return 'trust domain must not have a port';
    if (char === '%') return 'trust domain must not be percent-encoded';
    return 'trust domain contains an invalid character';
  }
  if (name.length > MAX_TRUST_DOMAIN_BYTES) return `trust domain is longer than ${MAX_TRUST_DOMAIN_BYTES} bytes`;
  return undefined;
}
