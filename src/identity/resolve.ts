import { refusal, type AuthnResult, type Delegation, type Identity, type WorkloadIdentity } from '../core/identity.js';
import { OncePerPair } from '../core/once-per-pair.js';
import type { RequestFacts } from '../core/request-facts.js';
import { ErrorCode } from '../errors.js';
import { workloadFromPeer, workloadFromSpiffeUri, type MtlsTrust } from './mtls.js';
import { spiffeUriOfClientCert } from './client-cert.js';
import { parseXfcc } from './xfcc.js';
import { RememberedResults } from './remembered-results.js';

export interface TokenVerification {
  /** May answer synchronously (a cached token); a promise only when work must wait. */
  verify(token: string, nowSeconds: number): AuthnResult | Promise<AuthnResult>;
}

export interface ResolverOptions {
  readonly mtls: MtlsTrust;
  readonly trustForwardedClientCert: boolean;
  readonly tokens: TokenVerification;
}

const anonymous: AuthnResult = { ok: true, identity: { kind: 'anonymous' } };

/**
 * Orders the credential kinds into one identity. A presented credential that fails is never
 * ignored in favour of another that passes: it is a 401.
 */
export class IdentityResolver {
  /** A proxy forwards the same few clients on every request: each XFCC value is parsed once. */
  private readonly forwarded = new RememberedResults();
  /** Each token identity with its workloads' classes, by the identity the token verifier remembered. */
  private readonly classifiedIdentities = new WeakMap<Identity, Identity>();

  constructor(private readonly options: ResolverOptions) {}

  /**
   * Synchronous unless a token needs a signature check: most Checks in a mesh (mTLS, or a token
   * seen before) then cost no promise and no timer.
   */
  resolve(facts: RequestFacts, nowSeconds: number): AuthnResult | Promise<AuthnResult> {
    const peer = this.peerIdentity(facts, nowSeconds * 1000);
    if (peer && !peer.ok) return peer;
    const token = bearerToken(facts.headers.get('authorization'));
    if (token === undefined) return peer ?? anonymous;
    const bearer = this.options.tokens.verify(token, nowSeconds);
    const peerIdentity = peer?.identity;
    return bearer instanceof Promise ? bearer.then((b) => withBearer(peerIdentity, this.classified(b))) : withBearer(peerIdentity, this.classified(bearer));
  }

  /**
   * A token's workload, and a workload its `act` claim names, get their class from the same rules
   * as an mTLS peer, so one policy covers every way a workload arrives.
   */
  private classified(result: AuthnResult): AuthnResult {
    if (!result.ok || result.identity.kind === 'anonymous') return result;
    const { identity } = result;
    // A remembered token's identity is one object: classified once, so its requests share one too.
    const known = this.classifiedIdentities.get(identity);
    if (known !== undefined) return known === identity ? result : { ok: true, identity: known };
    const classified = this.classifiedAnew(identity);
    if (Object.isFrozen(identity)) this.classifiedIdentities.set(identity, classified);
    return classified === identity ? result : { ok: true, identity: classified };
  }

  private classifiedAnew(identity: Exclude<Identity, { kind: 'anonymous' }>): Identity {
    const actor = identity.delegation?.actor;
    const delegation = actor && actor.class === 'unknown' ? { ...identity.delegation!, actor: this.classifiedWorkload(actor) } : identity.delegation;
    const principal = identity.kind === 'workload' ? this.classifiedWorkload(identity) : identity;
    if (principal === identity && delegation === identity.delegation) return identity;
    return Object.freeze({ ...principal, ...(delegation ? { delegation: Object.freeze(delegation) } : {}) });
  }

  private classifiedWorkload(workload: WorkloadIdentity): WorkloadIdentity {
    return workload.class === 'unknown' ? Object.freeze({ ...workload, class: this.options.mtls.classify(workload.spiffeId) }) : workload;
  }

  private peerIdentity(facts: RequestFacts, nowMs: number): AuthnResult | undefined {
    if (this.options.trustForwardedClientCert) {
      const xfcc = facts.headers.get('x-forwarded-client-cert');
      const clientCert = facts.headers.get('client-cert');
      // Two accounts of the client from one proxy: neither is believed over the other.
      if (xfcc !== undefined && clientCert !== undefined) {
        return refusal('mtls', ErrorCode.malformedXfcc, 'both x-forwarded-client-cert and client-cert were sent');
      }
      if (xfcc !== undefined) return this.fromXfcc(xfcc);
      if (clientCert !== undefined) return this.fromClientCert(clientCert);
    }
    return workloadFromPeer(facts.source, this.options.mtls, nowMs);
  }

  private fromXfcc(xfcc: string): AuthnResult {
    return this.forwarded.of(xfcc, (value) => this.parsedXfcc(value));
  }

  private parsedXfcc(xfcc: string): AuthnResult {
    const parsed = parseXfcc(xfcc);
    if (!parsed.ok) return refusal('mtls', ErrorCode.malformedXfcc, parsed.reason);
    // Each proxy appends its client; the last element is the one that connected to our proxy.
    const client = parsed.value.at(-1);
    const spiffe = client?.uri.filter((uri) => uri.startsWith('spiffe://')) ?? [];
    if (spiffe.length !== 1) {
      return refusal('mtls', ErrorCode.malformedXfcc, `the immediate client must have exactly one SPIFFE URI (found ${spiffe.length})`);
    }
    return workloadFromSpiffeUri(spiffe[0]!, this.options.mtls, 'forwarded client certificate (x-forwarded-client-cert)');
  }

  private fromClientCert(header: string): AuthnResult {
    const uri = spiffeUriOfClientCert(header);
    if (!uri.ok) return refusal('mtls', ErrorCode.malformedXfcc, uri.reason);
    return workloadFromSpiffeUri(uri.value, this.options.mtls, 'forwarded client certificate (client-cert)');
  }
}

function withBearer(peer: Identity | undefined, bearer: AuthnResult): AuthnResult {
  return bearer.ok && peer ? combine(peer, bearer.identity) : bearer;
}

/**
 * A token's identity as carried by an mTLS peer, once per (token identity, peer identity) pair:
 * both are remembered (the token verifier's cache, the peer principal's identity).
 */
const carriedIdentities = new OncePerPair<Identity, Identity, Identity>();

/**
 * Both an mTLS peer and a token. A token with an `act` claim must be presented by its current
 * actor. Without one, the same workload keeps the token's identity (it carries the lifecycle
 * claims), and a person's token carried by a workload makes the person the principal and the
 * workload the actor: the workload never disappears behind the person it carries.
 */
function combine(peer: Identity, token: Identity): AuthnResult {
  if (peer.kind !== 'workload' || token.kind === 'anonymous') return { ok: true, identity: token };
  const acting = token.delegation;
  if (acting !== undefined) {
    if (!acting.actor?.spiffeId.equals(peer.spiffeId)) {
      return refusal('jwt', ErrorCode.identityMismatch, `mTLS peer ${peer.spiffeId.toString()} is not the token's current actor (act.sub ${acting.actors[0] ?? ''})`);
    }
    return { ok: true, identity: carriedIdentities.of(token, peer, () => Object.freeze({ ...token, delegation: Object.freeze({ ...acting, actor: peer }) })) };
  }
  if (token.kind === 'workload') {
    if (peer.spiffeId.equals(token.spiffeId)) return { ok: true, identity: token };
    return refusal('jwt', ErrorCode.identityMismatch, `mTLS peer ${peer.spiffeId.toString()} and token subject ${token.spiffeId.toString()} differ`);
  }
  return {
    ok: true,
    identity: carriedIdentities.of(token, peer, () => {
      const delegation: Delegation = Object.freeze({ actor: peer, actors: Object.freeze([peer.spiffeId.toString()]), depth: 1 });
      return Object.freeze({ ...token, delegation });
    }),
  };
}

/**
 * The token of `Authorization: Bearer …`; other schemes belong to the upstream, not to us. A
 * Bearer value that is not one token (two headers joined, stray spaces) is returned whole so
 * that verification refuses it rather than it being ignored.
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  // The usual spelling, `Bearer <token>`, without the regular expression's copy of the token.
  if (header.startsWith('Bearer ')) return header.slice(7).trim();
  const match = /^\s*bearer(?:\s+|$)(.*)$/is.exec(header);
  return match ? (match[1] ?? '').trim() : undefined;
}
