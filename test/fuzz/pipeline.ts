/**
 * The decision path of one Check, in process and without the network: wire bytes → the object
 * grpc-js hands the handler → the server's Check pipeline → CheckResponse and decision log line.
 * What the fuzzers find here is what the server would do.
 */
import type { Config } from '../../src/config.js';
import { noLifecycle } from '../../src/core/decide.js';
import type { CheckRequestMessage } from '../../src/core/decode.js';
import type { Decision } from '../../src/core/decision.js';
import type { AuthnResult } from '../../src/core/identity.js';
import type { RequestFacts } from '../../src/core/request-facts.js';
import type { CheckResponseMessage } from '../../src/core/respond.js';
import { TokenVerifier } from '../../src/identity/token-verifier.js';
import type { KeySource } from '../../src/identity/key-source.js';
import { resolverFromConfig } from '../../src/identity/resolver-from-config.js';
import { decisionLine } from '../../src/log/decision-line.js';
import { recordOf } from '../../src/log/record-decision.js';
import { CheckPipeline, type CheckOutcome } from '../../src/pipeline/check-pipeline.js';
import { CedarAuthorizer } from '../../src/policy/authorizer.js';
import type { PolicyEngine } from '../../src/policy/cedar/engine.js';
import { loadPolicies } from '../../src/policy/loader.js';
import { authorizationServerService } from '../../src/wire/protos.js';
import protobuf from 'protobufjs';
import { referenceLine } from './invariants.js';

// In plain Node protobufjs finds Buffer by itself; should a test environment hide it, the
// BufferReader that the server uses (see asHandlerRequest) would never be chosen.
if (!protobuf.util.Buffer) {
  protobuf.util.Buffer = Buffer;
  protobuf.configure();
}

/** The codec the server's Check method runs with (src/wire/protos.ts). */
const serverCheck = authorizationServerService['Check']!;

/**
 * The request object grpc-js would hand the Check handler, through the server's codec; throws
 * where grpc-js answers INTERNAL. grpc-js decodes a Buffer, and protobufjs reads a Buffer with its BufferReader, which differs
 * from its Uint8Array reader: it clamps a string that runs past the end of the message instead
 * of refusing it. So the bytes are wrapped as a Buffer too.
 */
export function asHandlerRequest(bytes: Uint8Array): CheckRequestMessage {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return serverCheck.requestDeserialize(buffer) as CheckRequestMessage;
}

export type Outcome =
  | { readonly kind: 'undecodable'; readonly error: string }
  | {
      readonly kind: 'decided';
      readonly facts: RequestFacts;
      readonly authn: AuthnResult | undefined;
      readonly decision: Decision;
      /** The same request decided by an authorizer without a decision cache or slicing: the whole set, every time. */
      readonly uncached: Decision;
      readonly response: CheckResponseMessage;
      readonly line: string;
      /** The same record spelled by JSON.stringify (invariants.ts referenceLine): `line` must be the same text. */
      readonly reference: string;
    };

/**
 * The server's own Check pipeline (src/pipeline/check-pipeline.ts), twice: once as the server
 * runs it (decision cache, per-request slicing) and once evaluating the whole set uncached,
 * over the same identity step, trust bundles and limits the server
 * builds from the same config. Only the clock is the fuzzer's, so signed tokens stay valid.
 */
export class DecisionPipeline {
  #nowMs = 0;
  readonly #cached: CheckPipeline;
  readonly #uncached: CheckPipeline;
  #line = '';
  #reference = '';

  private constructor(
    readonly config: Config,
    readonly engine: PolicyEngine,
    keySources: ReadonlyMap<string, KeySource>,
    hangMs: number,
  ) {
    const identity = resolverFromConfig(config, new TokenVerifier(config.identity.jwt, config.identity.trustDomains, config.limits, keySources, { maxDelegationDepth: config.identity.maxDelegationDepth }));
    const deps = (authorizer: CedarAuthorizer, record?: (outcome: CheckOutcome) => void) =>
      new CheckPipeline({
        identity,
        policies: { current: () => authorizer },
        lifecycle: () => noLifecycle,
        mode: { dryRun: false, dryRunNamespaces: new Set() },
        request: config.request,
        response: config.response,
        // A verification that never settles ends in decision_timeout: a finding, not a stuck run.
        limits: { ...config.limits, decisionTimeoutMs: hangMs },
        record,
        clock: () => this.#nowMs,
      });
    this.#cached = deps(new CedarAuthorizer(engine), (outcome) => {
      const record = recordOf(outcome);
      this.#line = decisionLine(record);
      this.#reference = referenceLine(record);
    });
    this.#uncached = deps(new CedarAuthorizer(engine, { cacheSize: 0, slicing: false }));
  }

  static async create(config: Config, keySources: ReadonlyMap<string, KeySource> = new Map(), hangMs = 5000): Promise<DecisionPipeline> {
    const loaded = await loadPolicies(config.policies);
    if (!loaded.ok) throw new Error(`policies in ${config.policies} do not load: ${JSON.stringify(loaded.problems)}`);
    return new DecisionPipeline(config, loaded.engine, keySources, hangMs);
  }

  /** One Check. `nowSeconds` is the clock the tokens were signed for. */
  async run(bytes: Uint8Array, nowSeconds: number): Promise<Outcome> {
    let message: CheckRequestMessage;
    try {
      message = asHandlerRequest(bytes);
    } catch (err) {
      return { kind: 'undecodable', error: String(err) };
    }
    this.#nowMs = nowSeconds * 1000;
    const outcome = await this.#cached.run(message);
    // The server encodes every response as it is: one it cannot encode would be answered INTERNAL.
    serverCheck.responseSerialize(outcome.response);
    const uncached = await this.#uncached.run(message);
    return { kind: 'decided', facts: outcome.facts, authn: outcome.authn, decision: outcome.decision, uncached: uncached.decision, response: outcome.response, line: this.#line, reference: this.#reference };
  }
}
