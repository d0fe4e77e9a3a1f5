import { ErrorCode } from '../errors.js';
import { policyDenied, type Decision, type PolicyError, type Subject } from './decision.js';
import type { AuthnResult, Identity } from './identity.js';
import { normalizePath } from './path.js';
import type { RequestFacts } from './request-facts.js';
import { namespaceOfPrincipal, serviceFromRequest, type ServiceName } from './resource.js';

/** The policy set as the core sees it; implemented over Cedar in src/policy. */
export interface Authorizer {
  readonly version: string;
  readonly knownActions: ReadonlySet<string>;
  authorize(identity: Identity, facts: RequestFacts, path: { path: string; query: string }, service: ServiceName): AuthorizeResult;
}

export interface AuthorizeResult {
  readonly decision: 'allow' | 'deny';
  readonly determining: readonly string[];
  readonly errors: readonly PolicyError[];
}

/** Lifecycle state (Kubernetes objects, explicit revocations) that can cancel a verified identity. */
export interface Lifecycle {
  check(identity: Identity, nowMs: number): { ok: true; identity: Identity } | { ok: false; code: string; reason: string };
}

export const noLifecycle: Lifecycle = { check: (identity) => ({ ok: true, identity }) };

export interface Mode {
  readonly dryRun: boolean;
  readonly dryRunNamespaces: ReadonlySet<string>;
}

export interface DecideInput {
  readonly facts: RequestFacts;
  readonly authn: AuthnResult;
  readonly authorizer: Authorizer | undefined;
  readonly lifecycle: Lifecycle;
  readonly mode: Mode;
  readonly nowMs: number;
}

/** Default deny: every path that does not end in a permitting policy is a deny. */
export function decide(input: DecideInput): Decision {
  const { facts, authn, authorizer } = input;
  const service = serviceFromRequest(facts.contextExtensions, facts.host);
  const normalized = normalizePath(facts.rawPath);
  const subject: Subject = {
    action: facts.method,
    resource: service.name,
    resourceNamespace: service.namespace,
    path: normalized.ok ? normalized.value.path : '',
  };
  if (!authorizer) {
    return { kind: 'unavailable', code: ErrorCode.noPolicySet, reason: 'no valid policy set is loaded', subject };
  }
  // The caller chooses the Host header, so it never chooses dry-run: the namespace comes from the
  // operator's route, or from Envoy's own certificate (the destination workload's SPIFFE ID).
  const trustedNamespace = service.from === 'route' ? service.namespace : namespaceOfPrincipal(facts.destination.principal);
  const dryRun = input.mode.dryRun || (trustedNamespace !== undefined && input.mode.dryRunNamespaces.has(trustedNamespace));
  const deny = (status: 'forbidden' | 'unauthenticated', code: string, reason: string, identity?: Identity, extra?: Partial<Pick<Extract<Decision, { kind: 'deny' }>, 'policies' | 'errors'>>): Decision => ({
    kind: 'deny',
    status,
    code,
    reason,
    identity,
    subject,
    policies: extra?.policies ?? [],
    errors: extra?.errors ?? [],
    dryRun,
    version: authorizer.version,
  });

  if (facts.problems.length > 0) return deny('forbidden', ErrorCode.badRequest, facts.problems.join('; '));
  if (!normalized.ok) return deny('forbidden', ErrorCode.badPath, normalized.reason);
  const destination = namespaceOfPrincipal(facts.destination.principal);
  if (service.from === 'host' && destination !== undefined && service.namespace !== undefined && service.namespace !== destination) {
    return deny('forbidden', ErrorCode.destinationMismatch, `host names namespace ${service.namespace} but the destination workload is in ${destination}`);
  }
  if (!authn.ok) return deny('unauthenticated', authn.code, authn.detail);

  const live = input.lifecycle.check(authn.identity, input.nowMs);
  if (!live.ok) return deny('unauthenticated', live.code, live.reason, authn.identity);
  const identity = live.identity;

  if (!authorizer.knownActions.has(facts.method)) {
    return deny('forbidden', ErrorCode.badRequest, `unknown method ${JSON.stringify(facts.method.slice(0, 32))}`, identity);
  }
  const result = authorizer.authorize(identity, facts, normalized.value, service);
  if (result.decision === 'allow') {
    return { kind: 'allow', identity, subject, policies: result.determining, errors: result.errors, version: authorizer.version, dryRun };
  }
  const status = identity.kind === 'anonymous' ? 'unauthenticated' : 'forbidden';
  const reason = result.determining.length > 0 ? 'denied by a forbid policy' : 'no policy permits the request';
  return deny(status, policyDenied, reason, identity, { policies: result.determining, errors: result.errors });
}
