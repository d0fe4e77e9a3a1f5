import type { AuthnResult } from '../core/identity.js';
import { isRecord } from '../core/is-record.js';
import { ErrorCode } from '../errors.js';
import { SpiffeId } from '../core/spiffe-id.js';
import { refuse } from './token-refusal.js';

/** `system:serviceaccount:NAMESPACE:NAME`, the subject of every Kubernetes service-account token. */
export const serviceAccountSubject = /^system:serviceaccount:([^:]+):([^:]+)$/;

/**
 * A bound service-account token: `sub` and the `kubernetes.io` claim must name the same
 * service account, whose uid (and the pod's, when bound to one) later checks liveness.
 */
export function serviceAccountWorkload(issuer: string, sub: string, bound: unknown, expiresAt: number, trustDomain: string): AuthnResult {
  const match = serviceAccountSubject.exec(sub);
  if (!match) return refuse(ErrorCode.badClaims, 'sub is not system:serviceaccount:NAMESPACE:NAME');
  const [, namespace = '', name = ''] = match;
  if (!isRecord(bound)) return refuse(ErrorCode.badClaims, 'token has no kubernetes.io claim (not a bound service-account token)');
  const serviceAccount = bound['serviceaccount'];
  if (bound['namespace'] !== namespace || !isRecord(serviceAccount) || serviceAccount['name'] !== name) {
    return refuse(ErrorCode.badClaims, 'kubernetes.io claim names another service account than sub');
  }
  const serviceAccountUid = serviceAccount['uid'];
  if (!isNonEmptyString(serviceAccountUid)) return refuse(ErrorCode.badClaims, 'kubernetes.io.serviceaccount.uid is missing');
  const pod = bound['pod'];
  if (pod !== undefined && !(isRecord(pod) && isNonEmptyString(pod['name']) && isNonEmptyString(pod['uid']))) {
    return refuse(ErrorCode.badClaims, 'kubernetes.io.pod must have a name and a uid');
  }
  const spiffeId = SpiffeId.forServiceAccount(trustDomain, namespace, name);
  if (!spiffeId.ok) return refuse(ErrorCode.badClaims, `sub does not name a workload: ${spiffeId.reason}`);
  const kubernetes = Object.freeze({
    namespace,
    serviceAccountName: name,
    serviceAccountUid,
    ...(pod === undefined ? {} : { podName: pod['name'] as string, podUid: pod['uid'] as string }),
  });
  return { ok: true, identity: Object.freeze({ kind: 'workload', spiffeId: spiffeId.value, class: 'unknown', authn: 'jwt', issuer, kubernetes, expiresAt }) };
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}
