import type { JwtIssuerConfig } from '../config.js';
import type { AuthnResult } from '../core/identity.js';
import { ErrorCode } from '../errors.js';
import { quote } from './printable.js';
import { refuse } from './token-refusal.js';

/**
 * OpenID Connect Core 1.0 §2: `sub` is at most 255 ASCII characters. Holding issuers to that
 * (printable ones) is what lets the subject travel upstream as a header value and an assertion
 * `sub` as it is, with nothing to escape.
 */
const oidcSubject = /^[\x20-\x7e]{1,255}$/;

/**
 * A person's ID token: `sub` names them, the issuer's groups claim (when present) their groups,
 * each under the issuer's prefix so that one issuer can never name another's people or groups.
 */
export function oidcUser(issuer: JwtIssuerConfig, subject: string, groups: unknown, expiresAt: number): AuthnResult {
  if (!oidcSubject.test(subject)) return refuse(ErrorCode.badClaims, 'sub is not 1 to 255 printable ASCII characters (OpenID Connect Core §2)');
  if (groups !== undefined && !(Array.isArray(groups) && groups.every((group) => typeof group === 'string'))) {
    return refuse(ErrorCode.badClaims, `${quote(issuer.groupsClaim)} is not an array of strings`);
  }
  const groupPrefix = issuer.groupPrefix ?? issuer.userPrefix;
  const names: readonly string[] = Object.freeze(((groups as string[] | undefined) ?? []).map((group) => `${groupPrefix}${group}`));
  const name = `${issuer.userPrefix}${subject}`;
  return { ok: true, identity: Object.freeze({ kind: 'user', issuer: issuer.issuer, subject, name, groups: names, expiresAt }) };
}
