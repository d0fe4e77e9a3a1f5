import type { ErrorCode } from '../errors.js';
import type { SpiffeId } from './spiffe-id.js';

export type WorkloadClass = 'service' | 'build' | 'automation' | 'agent' | 'unknown';
export const workloadClasses: readonly WorkloadClass[] = ['service', 'build', 'automation', 'agent', 'unknown'];

export type AuthnMethod = 'mtls' | 'jwt' | 'none';

/** Claims of a bound Kubernetes service-account token, kept for lifecycle checks. */
export interface BoundTokenClaims {
  readonly namespace: string;
  readonly serviceAccountName: string;
  readonly serviceAccountUid: string;
  readonly podName?: string;
  readonly podUid?: string;
}

export type Identity =
  | {
      readonly kind: 'workload';
      readonly spiffeId: SpiffeId;
      readonly class: WorkloadClass;
      readonly authn: 'mtls' | 'jwt';
      /** Token issuer when authenticated by a token. */
      readonly issuer?: string;
      /** Present for Kubernetes service-account tokens. */
      readonly kubernetes?: BoundTokenClaims;
      /** Token expiry (epoch seconds), when authenticated by a token. */
      readonly expiresAt?: number;
      /** Who presents this workload's authority, when another workload acts for it. */
      readonly delegation?: Delegation;
    }
  | {
      readonly kind: 'user';
      readonly issuer: string;
      /** The person as their issuer names them (`sub`). */
      readonly subject: string;
      /** The person as policies name them: the issuer's userPrefix and the subject (`corp:alice`). */
      readonly name: string;
      /** As policies name them: each with the issuer's groupPrefix. */
      readonly groups: readonly string[];
      readonly expiresAt?: number;
      /** Who presents this person's authority: the mTLS workload carrying the token, or the token's `act` chain. */
      readonly delegation?: Delegation;
    }
  | { readonly kind: 'anonymous' };

export type WorkloadIdentity = Extract<Identity, { kind: 'workload' }>;

/**
 * Who acts for the principal (docs/reference.md, "Delegation"). It travels on the principal's
 * identity rather than beside it, so that every step the principal reaches (Cedar, the response
 * headers, the assertion, the decision log, the lifecycle) sees the actor too and none can drop it.
 */
export interface Delegation {
  /** The current actor, when it is a workload in a trusted domain (an mTLS peer, or an `act.sub` SPIFFE ID). */
  readonly actor?: WorkloadIdentity;
  /** Every actor in the chain, current first, by SPIFFE ID or subject. */
  readonly actors: readonly string[];
  /** The number of actors in the chain. */
  readonly depth: number;
}

export function delegationOf(identity: Identity): Delegation | undefined {
  return identity.kind === 'anonymous' ? undefined : identity.delegation;
}

/** The outcome of the identify step: one identity, or why the presented credential is refused. */
export type AuthnResult =
  | { readonly ok: true; readonly identity: Identity }
  | {
      readonly ok: false;
      readonly code: ErrorCode;
      readonly detail: string;
      readonly authn: AuthnMethod;
      /** The identity the credential verified as, when it was refused afterwards (revoked). */
      readonly identity?: Identity;
    };

export type AuthnRefusal = Extract<AuthnResult, { ok: false }>;

/** A refused credential, with its stable code; `detail` is for the decision log only. */
export function refusal(authn: AuthnMethod, code: ErrorCode, detail: string): AuthnRefusal {
  return { ok: false, code, detail, authn };
}

export function authnMethodOf(identity: Identity): AuthnMethod {
  switch (identity.kind) {
    case 'workload':
      return identity.authn;
    case 'user':
      return 'jwt';
    case 'anonymous':
      return 'none';
    default: {
      const never: never = identity;
      return never;
    }
  }
}

/**
 * The principal in the form upstream services already know (`x-gatehouse-principal`, the
 * assertion's `sub`): a workload's SPIFFE ID, so the assertion is a valid JWT-SVID, or a person's
 * prefixed name, so that no issuer's person passes for another's upstream either; undefined for anonymous callers, who have no name to pass on.
 */
export function upstreamPrincipal(identity: Identity): string | undefined {
  switch (identity.kind) {
    case 'workload':
      return identity.spiffeId.toString();
    case 'user':
      return identity.name;
    case 'anonymous':
      return undefined;
    default: {
      const never: never = identity;
      return never;
    }
  }
}

/** The acting workload's SPIFFE ID (`x-gatehouse-actor`), when a workload acts for the principal. */
export function upstreamActor(identity: Identity): string | undefined {
  return delegationOf(identity)?.actor?.spiffeId.toString();
}

/**
 * RFC 8693 §4.1 `act` for the upstream assertion: the current actor outermost, each earlier one
 * nested inside it; undefined when nobody acts for the principal.
 */
export function actClaim(identity: Identity): ActClaim | undefined {
  const actors = delegationOf(identity)?.actors ?? [];
  return actors.reduceRight<ActClaim | undefined>((earlier, sub) => (earlier === undefined ? { sub } : { sub, act: earlier }), undefined);
}

export interface ActClaim {
  readonly sub: string;
  readonly act?: ActClaim;
}

/** The Cedar-style name of the principal, as the decision log and `gatehouse check` show it. */
export function principalName(identity: Identity): string {
  switch (identity.kind) {
    case 'workload':
      return `Workload::"${identity.spiffeId.toString()}"`;
    case 'user':
      return `User::${JSON.stringify(identity.name)}`;
    case 'anonymous':
      return 'Anonymous::"anonymous"';
    default: {
      const never: never = identity;
      return never;
    }
  }
}
