import type { AuthnResult } from '../core/identity.js';
import { ErrorCode } from '../errors.js';
import { quote } from './printable.js';
import { SpiffeId } from '../core/spiffe-id.js';
import { refuse } from './token-refusal.js';

/** A JWT-SVID: `sub` is the workload's SPIFFE ID, in the issuer's own trust domain. */
export function svidWorkload(issuer: string, sub: string, expiresAt: number, trustDomain: string): AuthnResult {
  const parsed = SpiffeId.parse(sub);
  if (!parsed.ok) return refuse(ErrorCode.malformedSpiffeId, `sub: ${parsed.reason}`);
  const spiffeId = parsed.value;
  if (spiffeId.trustDomain !== trustDomain) {
    return refuse(ErrorCode.untrustedTrustDomain, `trust domain ${quote(spiffeId.trustDomain)} is not the issuer's (${quote(trustDomain)})`);
  }
  if (spiffeId.path === '') return refuse(ErrorCode.badClaims, 'sub names a trust domain, not a workload');
  return { ok: true, identity: Object.freeze({ kind: 'workload', spiffeId, class: 'unknown', authn: 'jwt', issuer, expiresAt }) };
}
