/**
 * The Check pipeline in-process: decode, parse, identity resolution, Cedar (through the cached
 * authorizer) and the response, with no gRPC and no logging. Median per Check, repeated and
 * all-distinct traffic, and the latency of cache misses: every Check from a different workload the policies tell apart.
 */
import type { CheckRequestMessage } from '../src/core/decode.js';
import { CedarAuthorizer } from '../src/policy/authorizer.js';
import { loadPolicies } from '../src/policy/loader.js';
import { shopWorkload } from './estate.js';
import { checkMessage as message, inProcessPipeline } from './in-process.js';

export interface MicroResult {
  readonly policies: number;
  readonly repeatedMedianUs: number;
  readonly distinctMedianUs: number;
  /** Every Check a different workload of the shop namespace that the policies tell apart (estate.ts shopOwn), so each one reaches Cedar. */
  readonly miss: { readonly p50Us: number; readonly p99Us: number; readonly maxUs: number };
}

export async function microbench(dir: string, policies: number): Promise<MicroResult> {
  const loaded = await loadPolicies(dir);
  if (!loaded.ok) throw new Error(`policies in ${dir} do not load`);
  const pipeline = inProcessPipeline(new CedarAuthorizer(loaded.engine));
  const sample = async (messages: CheckRequestMessage[], iterations: number): Promise<number[]> => {
    const samples: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const start = performance.now();
      await pipeline.run(messages[i % messages.length]!);
      samples.push((performance.now() - start) * 1000);
    }
    return samples.sort((a, b) => a - b);
  };
  const time = async (messages: CheckRequestMessage[], iterations: number): Promise<number> => quantile(await sample(messages, iterations), 0.5);
  const repeated = [message('/api/orders/42')];
  await time(repeated, 2000);
  const repeatedMedianUs = await time(repeated, 20_000);
  const distinct = Array.from({ length: 3000 }, (_, i) => message(`/api/orders/${i}`));
  const distinctMedianUs = await time(distinct, 3000);
  const workloads = Array.from({ length: 2000 }, (_, i) => message('/api/orders/42', shopWorkload(i)));
  const misses = await sample(workloads, workloads.length);
  return { policies, repeatedMedianUs, distinctMedianUs, miss: { p50Us: quantile(misses, 0.5), p99Us: quantile(misses, 0.99), maxUs: misses.at(-1)! } };
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}
