/**
 * The decision core in-process: identity resolution + Cedar (through the cached authorizer),
 * with no gRPC and no logging. Median per decision, repeated and all-distinct traffic.
 */
import { decide, noLifecycle } from '../src/core/decide.js';
import { requestFacts, type CheckRequestMessage } from '../src/core/decode.js';
import { classifierFromRules } from '../src/identity/classify.js';
import { IdentityResolver } from '../src/identity/resolve.js';
import { CedarAuthorizer } from '../src/policy/authorizer.js';
import { loadPolicies } from '../src/policy/loader.js';
import { CheckRequestType, decodeCheckRequest } from '../src/transport/protos.js';
import { framed, frontend } from './estate.js';

const limits = { maxHeaders: 200, maxHeaderBytes: 65536 };

function message(path: string): CheckRequestMessage {
  const body = framed({ principal: frontend, path }).subarray(5);
  return CheckRequestType.toObject(decodeCheckRequest(body), { longs: String, enums: String, defaults: false }) as CheckRequestMessage;
}

export interface MicroResult {
  readonly policies: number;
  readonly repeatedMedianUs: number;
  readonly distinctMedianUs: number;
}

export async function microbench(dir: string, policies: number): Promise<MicroResult> {
  const loaded = await loadPolicies(dir);
  if (!loaded.ok) throw new Error(`policies in ${dir} do not load`);
  const authorizer = new CedarAuthorizer(loaded.engine);
  const resolver = new IdentityResolver({
    mtls: { trustDomains: new Set(['cluster.local']), bundles: new Map(), classify: classifierFromRules([]) },
    trustForwardedClientCert: false,
    tokens: { verify: async () => ({ ok: false, code: 'unknown_issuer', detail: '', authn: 'jwt' }) },
  });
  const mode = { dryRun: false, dryRunNamespaces: new Set<string>() };
  const time = async (messages: CheckRequestMessage[], iterations: number): Promise<number> => {
    const samples: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const start = performance.now();
      const facts = requestFacts(messages[i % messages.length], limits);
      const authn = await resolver.resolve(facts, 1_800_000_000);
      decide({ facts, authn, authorizer, lifecycle: noLifecycle, mode, nowMs: 0 });
      samples.push(performance.now() - start);
    }
    samples.sort((a, b) => a - b);
    return samples[Math.floor(samples.length / 2)]! * 1000;
  };
  const repeated = [message('/api/orders/42')];
  await time(repeated, 2000);
  const repeatedMedianUs = await time(repeated, 20_000);
  const distinct = Array.from({ length: 3000 }, (_, i) => message(`/api/orders/${i}`));
  const distinctMedianUs = await time(distinct, 3000);
  return { policies, repeatedMedianUs, distinctMedianUs };
}
