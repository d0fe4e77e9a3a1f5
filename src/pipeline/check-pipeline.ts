import { checkLifecycle, decide, type Authorizer, type Lifecycle, type Mode } from '../core/decide.js';
import { requestFacts, type CheckRequestMessage, type DecodeLimits } from '../core/decode.js';
import type { Decision } from '../core/decision.js';
import type { AuthnResult } from '../core/identity.js';
import { parseRequest, subjectOf, type ParsedRequest, type RequestOptions } from '../core/parse-request.js';
import type { RequestFacts } from '../core/request-facts.js';
import { toCheckResponse, type CheckResponseMessage, type ResponseOptions } from '../core/respond.js';
import { ErrorCode, errorMessage } from '../errors.js';
import { epochMs, tracedAuthorizer, type CheckTrace, type CheckTracing, type TraceIds } from './check-tracing.js';
import { newDecisionId } from './decision-id.js';

/** The identify step: request facts → one identity, or why the presented credential is refused. */
export interface IdentityStep {
  /** May answer synchronously (mTLS, a cached token); a promise only when work must wait. */
  resolve(facts: RequestFacts, nowSeconds: number): AuthnResult | Promise<AuthnResult>;
}

export interface AssertionMinter {
  /** The signed assertion for an allowed request; undefined when its destination gets none. */
  mint(decision: Extract<Decision, { kind: 'allow' }>, decisionId: string, nowSeconds: number): Promise<string | undefined> | string | undefined;
}

/** The protocol a Check arrived by: the decision log's `wire` and the metrics' `wire` label. */
export type Wire = 'grpc' | 'envoy-http' | 'forward-auth';

/** What a caller may say about one Check besides the request itself. */
export interface RunOptions {
  /** Replaces the identify step for this call (`gatehouse test` states callers). */
  readonly identity?: IdentityStep;
  /** `grpc` unless said: the CheckRequest is gRPC's message. */
  readonly wire?: Wire;
  /**
   * What the wire's adapter found wrong before there was a CheckRequest to decode (a forward-auth
   * request without a usable original URI): refused like a decode problem, as `bad_request`.
   */
  readonly problems?: readonly string[];
}

/** Everything one Check produced, for the record step and for callers that explain it. */
export interface CheckOutcome {
  readonly decisionId: string;
  readonly wire: Wire;
  /** The one clock reading of this Check. */
  readonly nowMs: number;
  readonly facts: RequestFacts;
  readonly parsed: ParsedRequest;
  /** The identity after the lifecycle step; undefined when the request was refused (or shed) before identity. */
  readonly authn: AuthnResult | undefined;
  readonly decision: Decision;
  readonly response: CheckResponseMessage;
  readonly durationMs: number;
  /** The trace context of the Check's span (or the caller's), when telemetry is on and there is one. */
  readonly trace?: TraceIds;
}

export interface PipelineLimits extends DecodeLimits {
  readonly maxConcurrentChecks: number;
  readonly decisionTimeoutMs: number;
}

export interface PipelineDeps {
  readonly identity: IdentityStep;
  readonly policies: { current(): Authorizer | undefined };
  readonly lifecycle: () => Lifecycle;
  readonly mode: Mode;
  /** How the parse step reads requests where backends disagree. */
  readonly request: RequestOptions;
  readonly response: ResponseOptions;
  readonly limits: PipelineLimits;
  readonly assertions?: AssertionMinter;
  /** The record step: the decision log and metrics of a server; nothing offline. */
  readonly record?: (outcome: CheckOutcome) => void;
  /** A server's telemetry (telemetry.otlp); absent, a Check costs nothing for it. */
  readonly tracing?: CheckTracing;
  readonly clock?: () => number;
}

/**
 * The one Check pipeline: decode → parse → identify → lifecycle → decide → assert → respond →
 * record, with the overload and deadline guards as steps of their own. The gRPC handler, the
 * HTTP wires, `gatehouse check`, `gatehouse test` and the fuzzers all run exactly this. A deny is
 * an outcome, never a thrown error.
 */
export class CheckPipeline {
  #inFlight = 0;
  readonly #clock: () => number;

  constructor(private readonly deps: PipelineDeps) {
    this.#clock = deps.clock ?? Date.now;
  }

  /** Checks started and not yet answered. */
  get pending(): number {
    return this.#inFlight;
  }

  /**
   * One Check. Synchronous when no step has to wait (a cached token, mTLS, an assertion-free
   * allow): the answer then goes out within the caller's own turn, with no promise and no
   * microtask. A promise only when identify or assert waits.
   */
  run(message: CheckRequestMessage, options: RunOptions = {}): CheckOutcome | Promise<CheckOutcome> {
    const check = this.begin(message, options);
    this.#inFlight += 1;
    // Each way out of here settles once: settling frees the slot, then answers and records, and
    // what throws while answering must not settle the Check again.
    if (this.#inFlight > this.deps.limits.maxConcurrentChecks) {
      return this.settled(check, undefined, unavailable(check.parsed, ErrorCode.overloaded, `more than ${this.deps.limits.maxConcurrentChecks} concurrent checks`));
    }
    let identified: AuthnResult | Promise<AuthnResult> | undefined;
    try {
      // A refused request costs no signature check, and a synchronous answer (mTLS, a cached
      // token) no promise.
      if (check.parsed.ok) identified = this.identify(options.identity ?? this.deps.identity, check.facts, check.nowMs);
    } catch (err) {
      return this.settled(check, undefined, this.failed(check.parsed, err));
    }
    if (identified instanceof Promise) {
      return this.waited(identified, check.trace).then(
        (authn) => this.decided(check, authn),
        (err: unknown) => this.settled(check, undefined, this.failed(check.parsed, err)),
      );
    }
    return this.decided(check, identified);
  }

  /** The decode and parse steps, and what the rest of the Check carries. */
  private begin(message: CheckRequestMessage, options: RunOptions): Begun {
    const started = performance.now();
    const nowMs = this.#clock();
    const decoded = requestFacts(message, this.deps.limits);
    const facts = options.problems?.length ? { ...decoded, problems: [...options.problems, ...decoded.problems] } : decoded;
    return {
      started,
      nowMs,
      decisionId: newDecisionId(nowMs),
      wire: options.wire ?? 'grpc',
      facts,
      parsed: parseRequest(facts, this.deps.request),
      trace: this.deps.tracing?.start(facts.headers, performance.timeOrigin + started),
    };
  }

  /** The lifecycle and decide steps, once identify answered (undefined: a request refused before it). */
  private decided(check: Begun, identified: AuthnResult | undefined): CheckOutcome | Promise<CheckOutcome> {
    let authn: AuthnResult | undefined;
    let decision: Decision;
    try {
      if (identified !== undefined) authn = checkLifecycle(identified, this.deps.lifecycle(), check.nowMs);
      const authorizer = this.deps.policies.current();
      const { parsed, facts, trace } = check;
      decision = decide({ parsed, facts, authn, authorizer: trace && authorizer ? tracedAuthorizer(authorizer, trace) : authorizer, mode: this.deps.mode });
    } catch (err) {
      decision = this.failed(check.parsed, err);
    }
    return this.settled(check, authn, decision);
  }

  /** The Check is decided and no longer in flight; the assert, respond and record steps. */
  private settled(check: Begun, authn: AuthnResult | undefined, decision: Decision): CheckOutcome | Promise<CheckOutcome> {
    this.#inFlight -= 1;
    if (decision.kind !== 'allow' || !this.deps.assertions) return this.answered(check, authn, decision, undefined);
    const asserted = this.assert(this.deps.assertions, decision, check.decisionId, check.nowMs);
    if (asserted instanceof Promise) return asserted.then(({ decision: final, assertion }) => this.answered(check, authn, final, assertion));
    return this.answered(check, authn, asserted.decision, asserted.assertion);
  }

  private answered(check: Begun, authn: AuthnResult | undefined, decision: Decision, assertion: string | undefined): CheckOutcome {
    const { decisionId, wire, trace } = check;
    const response = toCheckResponse(decision, decisionId, this.deps.response, assertion, wire === 'grpc' ? 'grpc' : 'http');
    const ended = performance.now();
    const outcome: CheckOutcome = {
      decisionId,
      wire,
      nowMs: check.nowMs,
      facts: check.facts,
      parsed: check.parsed,
      authn,
      decision,
      response,
      durationMs: ended - check.started,
      trace: trace?.ids,
    };
    trace?.end(outcome, performance.timeOrigin + ended);
    this.deps.record?.(outcome);
    return outcome;
  }

  private failed(parsed: ParsedRequest, err: unknown): Decision {
    return err instanceof DeadlineError
      ? unavailable(parsed, ErrorCode.decisionTimeout, `no decision within ${this.deps.limits.decisionTimeoutMs} ms`)
      : unavailable(parsed, ErrorCode.internal, errorMessage(err));
  }

  /** Only waiting work needs a deadline; a synchronous answer is already in time. */
  private identify(identity: IdentityStep, facts: RequestFacts, nowMs: number): AuthnResult | Promise<AuthnResult> {
    const resolving = identity.resolve(facts, Math.floor(nowMs / 1000));
    if (!(resolving instanceof Promise)) return resolving;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DeadlineError()), this.deps.limits.decisionTimeoutMs);
    });
    return Promise.race([resolving, deadline]).finally(() => clearTimeout(timer));
  }

  /** A traced Check's identify step that had to wait: a token's signature was checked. */
  private async waited(identifying: Promise<AuthnResult>, trace: CheckTrace | undefined): Promise<AuthnResult> {
    if (!trace) return identifying;
    const startMs = epochMs();
    try {
      return await identifying;
    } finally {
      trace.tokenVerified(startMs, epochMs());
    }
  }

  /** The assertion step: an allow that cannot be signed is not answered as an allow. */
  private assert(assertions: AssertionMinter, decision: Extract<Decision, { kind: 'allow' }>, decisionId: string, nowMs: number): Asserted | Promise<Asserted> {
    const refused = (err: unknown): Asserted => ({ decision: { kind: 'unavailable', code: ErrorCode.internal, reason: `assertion: ${errorMessage(err)}`, subject: decision.subject } });
    let minting: ReturnType<AssertionMinter['mint']>;
    try {
      minting = assertions.mint(decision, decisionId, Math.floor(nowMs / 1000));
    } catch (err) {
      return refused(err);
    }
    if (minting instanceof Promise) return minting.then((assertion) => ({ decision, assertion }), refused);
    return { decision, assertion: minting };
  }
}

/** A Check between its decode step and its answer. */
interface Begun {
  readonly started: number;
  readonly nowMs: number;
  readonly decisionId: string;
  readonly wire: Wire;
  readonly facts: RequestFacts;
  readonly parsed: ParsedRequest;
  readonly trace: CheckTrace | undefined;
}

interface Asserted {
  readonly decision: Decision;
  readonly assertion?: string;
}

/**
 * Hands a Check's outcome to `answer` the moment it is there: in the same call when the pipeline
 * answered synchronously, else when its promise settles. `fail` takes what the pipeline threw.
 */
export function whenChecked<T>(running: () => T | Promise<T>, answer: (outcome: T) => void, fail: (err: unknown) => void): void {
  let outcome: T | Promise<T>;
  try {
    outcome = running();
  } catch (err) {
    fail(err);
    return;
  }
  if (outcome instanceof Promise) outcome.then(answer, fail);
  else answer(outcome);
}

class DeadlineError extends Error {}

function unavailable(parsed: ParsedRequest, code: ErrorCode, reason: string): Decision {
  return { kind: 'unavailable', code, reason, subject: subjectOf(parsed.request) };
}
