import type { Config } from '../config.js';
import { noLifecycle } from '../core/decide.js';
import type { CheckRequestMessage } from '../core/decode.js';
import type { Decision } from '../core/decision.js';
import type { AuthnResult, Identity, WorkloadClass } from '../core/identity.js';
import type { WorkloadClassifier } from '../identity/classify.js';
import { SpiffeId } from '../core/spiffe-id.js';
import type { TrustDomain } from '../core/trust-domain.js';
import { ErrorCode, GatehouseError } from '../errors.js';
import { classifierFromRules } from '../identity/classify.js';
import { IdentityResolver, type TokenVerification } from '../identity/resolve.js';
import { refuse } from '../identity/token-refusal.js';
import { CheckPipeline, type IdentityStep } from '../pipeline/check-pipeline.js';
import { CedarAuthorizer } from '../policy/authorizer.js';
import type { PolicyEngine } from '../policy/cedar/engine.js';
import type { TestCase } from './test-file.js';

/** The issuer of a `user:` case that names none. */
const defaultTestIssuer = 'https://issuer.test';

// A case states its caller; a bearer token among its headers is not one.
const noTokens: TokenVerification = {
  verify: () => refuse(ErrorCode.unknownIssuer, 'gatehouse test cases name their caller (user:), not a token'),
};

/**
 * Decides a case the way the server decides a Check, through the same pipeline: the case becomes
 * a CheckRequest, a workload caller arrives as its mTLS peer (same trust domains and class rules
 * as the server; no certificate, so no trust bundle applies), an anonymous caller with no
 * credential, and a person is the identity the case states (there is no token to verify).
 */
export class CaseRunner {
  readonly #pipeline: CheckPipeline;
  readonly #peers: IdentityResolver;
  readonly #trustDomain: TrustDomain;
  readonly #classify: WorkloadClassifier;

  constructor(engine: PolicyEngine, config: Config) {
    const authorizer = new CedarAuthorizer(engine);
    this.#trustDomain = config.identity.trustDomains[0]!;
    this.#classify = classifierFromRules(config.identity.classes);
    this.#peers = new IdentityResolver({
      mtls: { trustDomains: new Set(config.identity.trustDomains), bundles: new Map(), classify: this.#classify },
      trustForwardedClientCert: false,
      tokens: noTokens,
    });
    this.#pipeline = new CheckPipeline({
      identity: this.#peers,
      policies: { current: () => authorizer },
      lifecycle: () => noLifecycle,
      mode: { dryRun: false, dryRunNamespaces: new Set() },
      request: config.request,
      response: config.response,
      limits: config.limits,
    });
  }

  async run(testCase: TestCase): Promise<Decision> {
    const outcome = await this.#pipeline.run(checkRequestOf(testCase, this.peerPrincipal(testCase)), { identity: this.identityFor(testCase) });
    return outcome.decision;
  }

  /** The mTLS principal Envoy would report for a workload caller; the server's parser judges it. */
  private peerPrincipal(testCase: TestCase): string {
    const { caller } = testCase;
    if (caller.kind === 'spiffe') return caller.id;
    if (caller.kind !== 'serviceAccount') return '';
    const id = SpiffeId.forServiceAccount(this.#trustDomain, caller.namespace, caller.serviceAccount);
    // The test file refuses a service account that makes no SPIFFE ID; this is that same rule.
    if (!id.ok) throw new GatehouseError(ErrorCode.badRequest, `serviceAccount ${caller.namespace}/${caller.serviceAccount}: ${id.reason}`);
    return id.value.toString();
  }

  /** A case's `actor:` (and `act:` chain) acts for its caller, as a token's `act` claim would. */
  private identityFor(testCase: TestCase): IdentityStep {
    const step = this.callerFor(testCase);
    const { actor } = testCase;
    if (actor === undefined) return step;
    const parsed = SpiffeId.parse(actor.id);
    if (!parsed.ok) throw new GatehouseError(ErrorCode.badRequest, `actor ${actor.id}: ${parsed.reason}`);
    const spiffeId = parsed.value;
    const acting = Object.freeze({
      actor: Object.freeze({ kind: 'workload' as const, spiffeId, class: actor.class ?? this.#classify(spiffeId), authn: 'mtls' as const }),
      actors: Object.freeze([actor.id, ...testCase.act]),
      depth: 1 + testCase.act.length,
    });
    const withActor = (result: AuthnResult): AuthnResult =>
      result.ok && result.identity.kind !== 'anonymous' ? { ok: true, identity: { ...result.identity, delegation: acting } } : result;
    return {
      resolve: (facts, nowSeconds) => {
        const resolved = step.resolve(facts, nowSeconds);
        return resolved instanceof Promise ? resolved.then(withActor) : withActor(resolved);
      },
    };
  }

  private callerFor(testCase: TestCase): IdentityStep {
    const { caller } = testCase;
    if (caller.kind === 'user') {
      const identity: Identity = { kind: 'user', subject: caller.subject, name: caller.subject, issuer: caller.issuer ?? defaultTestIssuer, groups: caller.groups };
      return { resolve: () => ({ ok: true, identity }) };
    }
    const workloadClass = testCase.class;
    if (workloadClass === undefined) return this.#peers;
    return {
      resolve: (facts, nowSeconds) => {
        const resolved = this.#peers.resolve(facts, nowSeconds);
        return resolved instanceof Promise ? resolved.then((result) => withClass(result, workloadClass)) : withClass(resolved, workloadClass);
      },
    };
  }
}

/** A case's `class:` stands in for the `gatehouse.io/class` annotation of its workload. */
function withClass(result: AuthnResult, workloadClass: WorkloadClass): AuthnResult {
  if (!result.ok || result.identity.kind !== 'workload') return result;
  return { ok: true, identity: { ...result.identity, class: workloadClass } };
}

function checkRequestOf(testCase: TestCase, principal: string): CheckRequestMessage {
  const host = testCase.host ?? testCase.service ?? '';
  const address = testCase.sourceIp === undefined ? {} : { address: { socket_address: { address: testCase.sourceIp, port_value: 0 } } };
  return {
    attributes: {
      source: { ...address, principal },
      request: {
        http: {
          method: testCase.method,
          path: testCase.path,
          host,
          scheme: 'http',
          headers: { ':authority': host, ':method': testCase.method, ':path': testCase.path, ...testCase.headers },
        },
      },
      context_extensions: testCase.service === undefined ? {} : { service: testCase.service },
    },
  };
}
