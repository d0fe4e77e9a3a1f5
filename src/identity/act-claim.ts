import type { Delegation, WorkloadIdentity } from '../core/identity.js';
import { isRecord } from '../core/is-record.js';
import { SpiffeId } from '../core/spiffe-id.js';
import { ErrorCode } from '../errors.js';
import { quote } from './printable.js';
import { refuse, type Checked } from './token-refusal.js';

export interface ActRules {
  /** The longest chain accepted (`identity.maxDelegationDepth`). */
  readonly maxDepth: number;
  /** The trust domains this issuer may name acting workloads in: a subset of `identity.trustDomains`. */
  readonly actorDomains: ReadonlySet<string>;
  readonly issuer: string;
}

/** Same bound as an OIDC subject: an actor's subject travels in logs and the assertion as it is. */
const actorSubject = /^[\x20-\x7e]{1,255}$/;

/**
 * RFC 8693 §4.1 `act`: `act.sub` is the current actor, a nested `act` the one before it. A
 * SPIFFE ID among them must be a workload in a domain the issuer may speak for, or any issuer
 * could claim that any workload of ours acted. Only the current actor becomes a workload
 * identity; earlier ones are names in the chain.
 */
export function delegationFromAct(act: unknown, rules: ActRules): Checked<{ readonly delegation: Delegation | undefined }> {
  if (act === undefined) return { ok: true, delegation: undefined };
  const actors: string[] = [];
  let actor: WorkloadIdentity | undefined;
  for (let current: unknown = act; current !== undefined; current = (current as Record<string, unknown>)['act']) {
    if (!isRecord(current)) return refuse(ErrorCode.badClaims, `act${'.act'.repeat(actors.length)} is not an object`);
    if (actors.length === rules.maxDepth) {
      return refuse(ErrorCode.delegationTooDeep, `act chain is longer than ${rules.maxDepth} (identity.maxDelegationDepth)`);
    }
    const sub = current['sub'];
    const where = `act${'.act'.repeat(actors.length)}.sub`;
    if (typeof sub !== 'string' || !actorSubject.test(sub)) return refuse(ErrorCode.badClaims, `${where} is not 1 to 255 printable ASCII characters`);
    const workload = actorWorkload(sub, where, rules);
    if (!workload.ok) return workload;
    if (actors.length === 0) actor = workload.actor;
    actors.push(sub);
  }
  const delegation: Delegation = Object.freeze({ ...(actor ? { actor } : {}), actors: Object.freeze(actors), depth: actors.length });
  return { ok: true, delegation };
}

/** A SPIFFE-looking subject is held to SPIFFE's rules; any other subject is only a name. */
function actorWorkload(sub: string, where: string, rules: ActRules): Checked<{ readonly actor: WorkloadIdentity | undefined }> {
  if (!/^spiffe:/i.test(sub)) return { ok: true, actor: undefined };
  const parsed = SpiffeId.parse(sub);
  if (!parsed.ok) return refuse(ErrorCode.malformedSpiffeId, `${where}: ${parsed.reason}`);
  const spiffeId = parsed.value;
  if (!rules.actorDomains.has(spiffeId.trustDomain)) {
    return refuse(ErrorCode.untrustedTrustDomain, `${where}: trust domain ${quote(spiffeId.trustDomain)} is not one the issuer may name workloads in`);
  }
  if (spiffeId.path === '') return refuse(ErrorCode.badClaims, `${where} names a trust domain, not a workload`);
  return { ok: true, actor: Object.freeze({ kind: 'workload', spiffeId, class: 'unknown', authn: 'jwt', issuer: rules.issuer }) };
}
