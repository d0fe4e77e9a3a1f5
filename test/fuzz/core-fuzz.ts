/**
 * The in-process fuzzer of the decision path (see pipeline.ts): seeded, bounded in iterations and
 * in time per iteration, and judged by oracle.ts and invariants.ts. A run returns what it saw and
 * every finding with the seed, iteration and input bytes that reproduce it.
 */
import { parseConfig } from '../../src/config.js';
import type { Decision } from '../../src/core/decision.js';
import { decodeCheckResponse, encodeCheckResponse } from '../../src/wire/protos.js';
import { examplePolicyDir } from '../support/server-process.js';
import { lineProblem, responseProblem } from './invariants.js';
import { judgeAllow, type OracleContext } from './oracle.js';
import { DecisionPipeline, type Outcome } from './pipeline.js';
import { Random } from './random.js';
import { allowedShapes, encodeShape, forbiddenShapes, randomShape, vectorSeeds } from './requests.js';
import { fuzzIdentityYaml, makeTokenKit, NOW, type TokenKit } from './tokens.js';
import { mutateBytes, mutateTree } from './wire.js';

export interface FuzzOptions {
  readonly iterations: number;
  readonly seed: number;
  /** The longest one iteration may take (a finding when exceeded). */
  readonly iterationBoundMs: number;
  /** Stop early (a finding) when the whole run exceeds this. */
  readonly runBoundMs: number;
}

export interface Finding {
  readonly iteration: number;
  readonly problem: string;
  /** Base64 of the CheckRequest bytes; replay with `asHandlerRequest(Buffer.from(input, 'base64'))`. */
  readonly input: string;
}

export interface FuzzReport {
  readonly seed: number;
  readonly iterations: number;
  readonly elapsedMs: number;
  readonly slowestIterationMs: number;
  /** Bytes protobuf refused (grpc-js answers INTERNAL for these). */
  readonly undecodable: number;
  /** Decisions by kind and code, e.g. `allow`, `deny:bad_path`. */
  readonly outcomes: Readonly<Record<string, number>>;
  readonly findings: readonly Finding[];
}

const maxFindings = 25;

/** Checks every answer against the oracle and invariants; the first problem found, or undefined. */
function problemOf(outcome: Extract<Outcome, { kind: 'decided' }>, ctx: OracleContext): string | undefined {
  const { decision, uncached, facts, response, line } = outcome;
  if (decision.kind === 'unavailable') return `unavailable in process: ${decision.code} ${decision.reason}`;
  const summary = (d: Decision): string => `${d.kind}:${d.kind === 'allow' ? '' : d.code}:${d.kind === 'unavailable' ? '' : d.policies.join('+')}`;
  if (summary(decision) !== summary(uncached)) return `cached decision ${summary(decision)} differs from uncached ${summary(uncached)}`;
  if (decision.kind === 'allow') {
    const wrong = judgeAllow(decision, facts, ctx);
    if (wrong !== undefined) return `wrong allow: ${wrong}`;
  }
  const shape = responseProblem(response);
  if (shape !== undefined) return `response: ${shape}`;
  const expected = decision.kind === 'allow' ? 0 : decision.status === 'unauthenticated' ? 16 : 7;
  if (response.status.code !== expected) return `response status ${response.status.code} for a ${decision.kind}`;
  try {
    const decoded = decodeCheckResponse(encodeCheckResponse({ ...response })) as { status?: { code?: number } };
    if ((decoded.status?.code ?? 0) !== expected) return `response status ${decoded.status?.code} after encoding`;
  } catch (err) {
    return `response does not encode: ${String(err)}`;
  }
  const bad = lineProblem(line);
  if (bad !== undefined) return `decision line: ${bad}: ${line.slice(0, 300)}`;
  if (line !== outcome.reference) return `decision line spelled otherwise than JSON.stringify's: ${line.slice(0, 300)} / ${outcome.reference.slice(0, 300)}`;
  const credential = facts.headers.get('authorization');
  if (credential !== undefined && credential.length >= 24 && line.includes(credential)) return 'the decision line repeats the credential';
  return undefined;
}

export async function runCoreFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const kit = await makeTokenKit();
  const base = { policies: examplePolicyDir, identity: fuzzIdentityYaml };
  const pipelines = [
    await DecisionPipeline.create(parseConfig(base), kit.keySources, Math.max(options.iterationBoundMs, 1000)),
    await DecisionPipeline.create(parseConfig({ ...base, identity: { ...fuzzIdentityYaml, trustForwardedClientCert: true } }), kit.keySources, Math.max(options.iterationBoundMs, 1000)),
  ];
  const permitIds = new Set(pipelines[0]!.engine.policies.filter((p) => p.effect === 'permit').map((p) => p.id));
  const random = new Random(options.seed);
  const nextInput = inputSource(random, kit);
  const outcomes: Record<string, number> = {};
  const findings: Finding[] = [];
  let undecodable = 0;
  let slowest = 0;
  const started = performance.now();
  let iteration = 0;
  for (; iteration < options.iterations; iteration++) {
    if (findings.length >= maxFindings) break;
    if (performance.now() - started > options.runBoundMs) {
      findings.push({ iteration, problem: `run exceeded ${options.runBoundMs} ms after ${iteration} iterations`, input: '' });
      break;
    }
    const input = nextInput();
    const xfccTrusted = random.chance(0.3);
    const pipeline = pipelines[xfccTrusted ? 1 : 0]!;
    const ctx = { validTokens: kit.valid, trustForwardedClientCert: xfccTrusted, permitIds };
    const t0 = performance.now();
    let problem: string | undefined;
    try {
      const outcome = await pipeline.run(input, NOW);
      if (outcome.kind === 'undecodable') undecodable += 1;
      else {
        const key = outcome.decision.kind === 'allow' ? 'allow' : `${outcome.decision.kind}:${outcome.decision.code}`;
        outcomes[key] = (outcomes[key] ?? 0) + 1;
        problem = problemOf(outcome, ctx);
      }
    } catch (err) {
      problem = `threw: ${(err as Error)?.stack ?? String(err)}`;
    }
    const ms = performance.now() - t0;
    slowest = Math.max(slowest, ms);
    if (ms > options.iterationBoundMs) problem ??= `took ${ms.toFixed(0)} ms (bound ${options.iterationBoundMs} ms)`;
    if (problem !== undefined) findings.push({ iteration, problem: `${problem} [xfcc trusted: ${xfccTrusted}]`, input: Buffer.from(input).toString('base64') });
  }
  return { seed: options.seed, iterations: iteration, elapsedMs: performance.now() - started, slowestIterationMs: slowest, undecodable, outcomes, findings };
}

/**
 * CheckRequest bytes, one per call: structured random requests, field-level and byte-level
 * mutations of the seeds (the ext_authz wire vectors and requests next to an allow or a forbid),
 * and noise.
 */
export function inputSource(random: Random, kit: TokenKit): () => Uint8Array {
  const tokens = [...kit.valid.keys(), ...kit.forged];
  const vectors = vectorSeeds();
  const seeds = [...vectors.requests, ...[...allowedShapes(kit.valid), ...forbiddenShapes(kit.valid)].map(encodeShape)];
  const donors = [...vectors.all, ...seeds];
  return () => {
    const roll = random.next();
    if (roll < 0.35) return encodeShape(randomShape(random, tokens));
    let bytes = random.pick(seeds);
    if (roll < 0.65) {
      for (let rounds = random.between(1, 3); rounds > 0; rounds--) bytes = mutateTree(random, bytes, donors) ?? bytes;
      return bytes;
    }
    if (roll < 0.9) return mutateBytes(random, bytes);
    if (roll < 0.97) return mutateBytes(random, mutateTree(random, bytes, donors) ?? bytes);
    return random.bytes(random.int(256));
  };
}
