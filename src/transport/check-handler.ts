import { decide, type Authorizer, type Lifecycle, type Mode } from '../core/decide.js';
import { requestFacts, type CheckRequestMessage, type DecodeLimits } from '../core/decode.js';
import type { Decision, Subject } from '../core/decision.js';
import type { AuthnResult } from '../core/identity.js';
import type { RequestFacts } from '../core/request-facts.js';
import { toCheckResponse, type CheckResponseMessage, type ResponseOptions } from '../core/respond.js';
import { ErrorCode } from '../errors.js';
import type { DecisionLog } from '../log/decision-log.js';
import { toDecisionRecord } from '../log/decision-record.js';
import { newDecisionId } from './decision-id.js';
import type { Metrics } from './metrics.js';

export interface IdentityStep {
  resolve(facts: RequestFacts, nowSeconds: number): AuthnResult | Promise<AuthnResult>;
}

export interface AssertionMinter {
  /** The signed assertion for an allowed request; undefined when its destination gets none. */
  mint(decision: Extract<Decision, { kind: 'allow' }>, decisionId: string, nowSeconds: number): Promise<string | undefined> | string | undefined;
}

export interface CheckDeps {
  readonly resolver: IdentityStep;
  readonly policies: { current(): Authorizer | undefined };
  readonly lifecycle: () => Lifecycle;
  readonly mode: Mode;
  readonly response: ResponseOptions;
  readonly limits: DecodeLimits & { readonly maxConcurrentChecks: number; readonly decisionTimeoutMs: number };
  readonly log: DecisionLog;
  readonly metrics: Metrics;
  readonly assertions?: AssertionMinter;
  readonly now?: () => number;
}

const unknownSubject: Subject = { action: '', resource: '', resourceNamespace: undefined, path: '' };
const noAuthn: AuthnResult = { ok: false, code: ErrorCode.internal, detail: 'not resolved', authn: 'none' };

/** Check: decode → identify → decide → respond → log. A deny is a response, never a thrown error. */
export class CheckHandler {
  private inFlight = 0;
  private readonly now: () => number;

  constructor(private readonly deps: CheckDeps) {
    this.now = deps.now ?? Date.now;
  }

  get pending(): number {
    return this.inFlight;
  }

  async check(message: CheckRequestMessage): Promise<CheckResponseMessage> {
    const started = performance.now();
    const nowMs = this.now();
    const decisionId = newDecisionId(nowMs);
    const facts = requestFacts(message, this.deps.limits);
    let authn = noAuthn;
    let decision: Decision;
    this.inFlight += 1;
    try {
      if (this.inFlight > this.deps.limits.maxConcurrentChecks) {
        decision = unavailable(ErrorCode.overloaded, `more than ${this.deps.limits.maxConcurrentChecks} concurrent checks`);
      } else {
        const resolving = this.deps.resolver.resolve(facts, Math.floor(nowMs / 1000));
        // Only waiting work needs a deadline; a synchronous answer is already in time.
        authn = resolving instanceof Promise ? await this.withDeadline(resolving) : resolving;
        decision = decide({
          facts,
          authn,
          authorizer: this.deps.policies.current(),
          lifecycle: this.deps.lifecycle(),
          mode: this.deps.mode,
          nowMs: this.now(),
        });
      }
    } catch (err) {
      decision =
        err instanceof DeadlineError
          ? unavailable(ErrorCode.decisionTimeout, `no decision within ${this.deps.limits.decisionTimeoutMs} ms`)
          : unavailable(ErrorCode.internal, (err as Error)?.message ?? String(err));
    } finally {
      this.inFlight -= 1;
    }

    let assertion: string | undefined;
    if (decision.kind === 'allow' && this.deps.assertions) {
      try {
        assertion = await this.deps.assertions.mint(decision, decisionId, Math.floor(nowMs / 1000));
      } catch (err) {
        decision = unavailable(ErrorCode.internal, `assertion: ${(err as Error).message}`);
      }
    }
    const response = toCheckResponse(decision, decisionId, this.deps.response, assertion);
    const durationMs = performance.now() - started;
    this.deps.log.record(toDecisionRecord(decision, authn, { time: new Date(nowMs), decisionId, requestId: facts.requestId, durationMs }));
    this.deps.metrics.decisions.inc({ outcome: outcomeLabel(decision), reason: decision.kind === 'allow' ? '' : decision.code });
    this.deps.metrics.checkDuration.observe(durationMs / 1000);
    return response;
  }

  private withDeadline<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DeadlineError()), this.deps.limits.decisionTimeoutMs);
    });
    return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
  }
}

class DeadlineError extends Error {}

function unavailable(code: string, reason: string): Decision {
  return { kind: 'unavailable', code, reason, subject: unknownSubject };
}

function outcomeLabel(decision: Decision): string {
  if (decision.kind === 'deny') return decision.dryRun ? 'dry_run_deny' : 'deny';
  return decision.kind === 'unavailable' ? 'error' : 'allow';
}
