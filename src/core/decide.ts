import { ErrorCode } from '../errors.js';
import type { CedarRequest } from './cedar-request.js';
import { policyDenied, type Decision, type PolicyError, type ReasonCode } from './decision.js';
import { authnMethodOf, delegationOf, type AuthnResult, type Delegation, type Identity, type WorkloadIdentity } from './identity.js';
import { OncePerPair } from './once-per-pair.js';
import { subjectOf, type ParsedRequest, type RequestSubject } from './parse-request.js';
import type { RequestFacts } from './request-facts.js';

/** The policy set as the core sees it; implemented over Cedar in src/policy. */
export interface Authorizer {
  readonly version: string;
  readonly knownActions: ReadonlySet<string>;
  /** `facts` supplies what policies may read beyond the subject: headers, query, the source address. */
  authorize(identity: Identity, request: RequestSubject, facts: RequestFacts): AuthorizeResult;
  /**
   * Why this policy set cannot decide the request without guessing how the backend reads it (a
   * header or query key some policy reads, sent more than once with different values), or undefined.
   */
  ambiguity(request: RequestSubject, facts: RequestFacts): string | undefined;
}

export interface AuthorizeResult {
  readonly decision: 'allow' | 'deny';
  readonly determining: readonly string[];
  readonly errors: readonly PolicyError[];
  /**
   * The request Cedar evaluated, exactly: what `gatehouse check` explains. Built on demand: a
   * decision remembered from an identical request is found without building it.
   */
  readonly evaluated: () => CedarRequest;
  /** The answer was remembered from an identical request: Cedar did not run (a Check's span says so). */
  readonly cacheHit?: true;
}

/** Lifecycle state (Kubernetes objects, explicit revocations) that can cancel a verified identity. */
export interface Lifecycle {
  check(identity: Identity, nowMs: number): LifecycleVerdict;
  /**
   * The same for the workload acting for a principal. An actor carries no bound-token claims (it
   * is an mTLS peer or an `act.sub`), so it is judged by what its SPIFFE ID names.
   */
  checkActor(actor: WorkloadIdentity, nowMs: number): LifecycleVerdict;
}

export type LifecycleVerdict =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly code: typeof ErrorCode.credentialRevoked | typeof ErrorCode.livenessUnknown; readonly reason: string };

export const noLifecycle: Lifecycle = { check: (identity) => ({ ok: true, identity }), checkActor: (identity) => ({ ok: true, identity }) };

/**
 * The lifecycle step: a verified identity whose pod or service account is gone is refused, and so
 * is one presented by an actor that is gone; the actor takes its class from the same facts as a
 * principal would. The refusal keeps the identity, so the decision log still names whose
 * credential it was.
 */
export function checkLifecycle(authn: AuthnResult, lifecycle: Lifecycle, nowMs: number): AuthnResult {
  if (!authn.ok) return authn;
  const live = lifecycle.check(authn.identity, nowMs);
  if (!live.ok) return { ok: false, code: live.code, detail: live.reason, authn: authnMethodOf(authn.identity), identity: authn.identity };
  const { identity } = live;
  const delegation = delegationOf(identity);
  const actor = delegation?.actor;
  if (delegation === undefined || actor === undefined || identity.kind === 'anonymous') return { ok: true, identity };
  const acting = lifecycle.checkActor(actor, nowMs);
  if (!acting.ok) return { ok: false, code: acting.code, detail: `actor: ${acting.reason}`, authn: authnMethodOf(identity), identity };
  if (acting.identity === actor || acting.identity.kind !== 'workload') return { ok: true, identity };
  return { ok: true, identity: withActor(identity, delegation, acting.identity) };
}

/** The identity with its actor as the lifecycle step gave it, once per (identity, actor) pair. */
const withActors = new OncePerPair<Identity, WorkloadIdentity, Identity>();

function withActor(identity: Exclude<Identity, { kind: 'anonymous' }>, delegation: Delegation, actor: WorkloadIdentity): Identity {
  return withActors.of(identity, actor, () => Object.freeze({ ...identity, delegation: Object.freeze({ ...delegation, actor }) }));
}

export interface Mode {
  readonly dryRun: boolean;
  readonly dryRunNamespaces: ReadonlySet<string>;
}

export interface DecideInput {
  readonly parsed: ParsedRequest;
  readonly facts: RequestFacts;
  /** The identity after the lifecycle step; undefined only for a request refused before identity. */
  readonly authn: AuthnResult | undefined;
  readonly authorizer: Authorizer | undefined;
  readonly mode: Mode;
}

/** Default deny: every path that does not end in a permitting policy is a deny. */
export function decide(input: DecideInput): Decision {
  const { parsed, authn, authorizer } = input;
  const { request } = parsed;
  const subject = subjectOf(request);
  if (!authorizer) {
    return { kind: 'unavailable', code: ErrorCode.noPolicySet, reason: 'no valid policy set is loaded', subject };
  }
  const dryRun = input.mode.dryRun || (request.trustedNamespace !== undefined && input.mode.dryRunNamespaces.has(request.trustedNamespace));
  const deny = (
    status: 'forbidden' | 'unauthenticated',
    code: ReasonCode,
    reason: string,
    identity?: Identity,
    evaluated?: Pick<AuthorizeResult, 'determining' | 'errors' | 'evaluated'>,
  ): Decision => ({
    kind: 'deny',
    status,
    code,
    reason,
    identity,
    subject,
    policies: evaluated?.determining ?? [],
    errors: evaluated?.errors ?? [],
    dryRun,
    version: authorizer.version,
    ...(evaluated ? { evaluated: evaluated.evaluated } : {}),
  });

  if (!parsed.ok) return deny('forbidden', parsed.code, parsed.reason);
  if (authn === undefined) return { kind: 'unavailable', code: ErrorCode.internal, reason: 'the request was not identified', subject };
  if (!authn.ok) return deny('unauthenticated', authn.code, authn.detail, authn.identity);
  const { identity } = authn;
  if (!authorizer.knownActions.has(request.method)) {
    return deny('forbidden', ErrorCode.badRequest, `unknown method ${JSON.stringify(request.method.slice(0, 32))}`, identity);
  }
  const ambiguous = authorizer.ambiguity(request, input.facts);
  if (ambiguous !== undefined) return deny('forbidden', ErrorCode.ambiguousParameter, ambiguous, identity);
  const result = authorizer.authorize(identity, request, input.facts);
  if (result.decision === 'allow') {
    return { kind: 'allow', identity, subject, policies: result.determining, errors: result.errors, version: authorizer.version, dryRun, evaluated: result.evaluated };
  }
  const status = identity.kind === 'anonymous' ? 'unauthenticated' : 'forbidden';
  const reason = result.determining.length > 0 ? 'denied by a forbid policy' : 'no policy permits the request';
  return deny(status, policyDenied, reason, identity, result);
}
