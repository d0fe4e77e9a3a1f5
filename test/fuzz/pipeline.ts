/**
 * The decision path of one Check, in process and without the network: wire bytes → the object
 * grpc-js hands the handler → request facts → identity → decision → CheckResponse and decision
 * log line. It is assembled from the same parts as src/server.ts, so what the fuzzers find here
 * is what the server would do.
 */
import type { Config } from '../../src/config.js';
import { decide, noLifecycle } from '../../src/core/decide.js';
import { requestFacts, type CheckRequestMessage } from '../../src/core/decode.js';
import type { Decision } from '../../src/core/decision.js';
import type { AuthnResult } from '../../src/core/identity.js';
import type { RequestFacts } from '../../src/core/request-facts.js';
import { toCheckResponse, type CheckResponseMessage } from '../../src/core/respond.js';
import { classifierFromRules } from '../../src/identity/classify.js';
import { TokenVerifier } from '../../src/identity/token-verifier.js';
import type { KeySource } from '../../src/identity/key-source.js';
import { IdentityResolver } from '../../src/identity/resolve.js';
import { decisionLine } from '../../src/log/decision-log.js';
import { toDecisionRecord } from '../../src/log/decision-record.js';
import { CedarAuthorizer } from '../../src/policy/authorizer.js';
import type { PolicyEngine } from '../../src/policy/cedar/engine.js';
import { loadPolicies } from '../../src/policy/loader.js';
import { CheckRequestType } from '../../src/transport/protos.js';
import protobuf from 'protobufjs';

// In plain Node protobufjs finds Buffer by itself; should a test environment hide it, the
// BufferReader that the server uses (see asHandlerRequest) would never be chosen.
if (!protobuf.util.Buffer) {
  protobuf.util.Buffer = Buffer;
  protobuf.configure();
}

/** grpc-js (through @grpc/proto-loader) deserializes with `toObject` and these options (src/transport/protos.ts). */
const grpcJsObjectOptions = { longs: String, enums: String, defaults: false, oneofs: true } as const;

/**
 * The request object grpc-js would hand the Check handler; throws where grpc-js answers INTERNAL.
 * grpc-js decodes a Buffer, and protobufjs reads a Buffer with its BufferReader, which differs
 * from its Uint8Array reader: it clamps a string that runs past the end of the message instead
 * of refusing it. So the bytes are wrapped as a Buffer too.
 */
export function asHandlerRequest(bytes: Uint8Array): CheckRequestMessage {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return CheckRequestType.toObject(CheckRequestType.decode(buffer), grpcJsObjectOptions) as CheckRequestMessage;
}

export type Outcome =
  | { readonly kind: 'undecodable'; readonly error: string }
  | {
      readonly kind: 'decided';
      readonly facts: RequestFacts;
      readonly authn: AuthnResult;
      readonly decision: Decision;
      /** The same request decided by an authorizer without a decision cache. */
      readonly uncached: Decision;
      readonly response: CheckResponseMessage;
      readonly line: string;
    };

export class DecisionPipeline {
  private readonly cached: CedarAuthorizer;
  private readonly uncachedAuthorizer: CedarAuthorizer;
  private readonly resolver: IdentityResolver;

  private constructor(
    readonly config: Config,
    readonly engine: PolicyEngine,
    keySources: ReadonlyMap<string, KeySource>,
  ) {
    this.cached = new CedarAuthorizer(engine);
    this.uncachedAuthorizer = new CedarAuthorizer(engine, { cacheSize: 0 });
    this.resolver = new IdentityResolver({
      mtls: { trustDomains: new Set(config.identity.trustDomains), bundles: new Map(), classify: classifierFromRules(config.identity.classes) },
      trustForwardedClientCert: config.identity.trustForwardedClientCert,
      tokens: new TokenVerifier(config.identity.jwt, config.identity.trustDomains, config.limits, keySources),
    });
  }

  static async create(config: Config, keySources: ReadonlyMap<string, KeySource> = new Map()): Promise<DecisionPipeline> {
    const loaded = await loadPolicies(config.policies);
    if (!loaded.ok) throw new Error(`policies in ${config.policies} do not load: ${JSON.stringify(loaded.problems)}`);
    return new DecisionPipeline(config, loaded.engine, keySources);
  }

  /**
   * One Check. `nowSeconds` is the clock the tokens were signed for. Identity resolution is
   * raced against `hangMs`: a verification that never settles is a finding, not a stuck run.
   */
  async run(bytes: Uint8Array, nowSeconds: number, hangMs: number): Promise<Outcome> {
    let message: CheckRequestMessage;
    try {
      message = asHandlerRequest(bytes);
    } catch (err) {
      return { kind: 'undecodable', error: String(err) };
    }
    const facts = requestFacts(message, this.config.limits);
    const authn = await within(this.resolver.resolve(facts, nowSeconds), hangMs);
    const input = { facts, authn, lifecycle: noLifecycle, mode: { dryRun: false, dryRunNamespaces: new Set<string>() }, nowMs: nowSeconds * 1000 };
    const decision = decide({ ...input, authorizer: this.cached });
    const uncached = decide({ ...input, authorizer: this.uncachedAuthorizer });
    const decisionId = 'fuzz-decision';
    const response = toCheckResponse(decision, decisionId, this.config.response);
    const record = toDecisionRecord(decision, authn, { time: new Date(nowSeconds * 1000), decisionId, requestId: facts.requestId, durationMs: 0.5 });
    return { kind: 'decided', facts, authn, decision, uncached, response, line: decisionLine(record) };
  }
}

async function within<T>(work: T | Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`identity resolution did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, hang]);
  } finally {
    clearTimeout(timer);
  }
}
