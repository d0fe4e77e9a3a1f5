/**
 * What the record step costs a Check, in CPU time: the decision log line, the decision metrics
 * (prom-client, as the server registers them) and the file sink (winston over a LineWriter),
 * over outcomes the in-process pipeline made beforehand, so nothing of the decision is counted.
 * CPU time (process.cpuUsage, every thread) rather than wall time, with the sink closed before it
 * is read, so serializing, batching and writing the lines count. Each part is timed alone and
 * all together; `node dist/bench/log-micro.js` prints them, `npm run bench` prints the table too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecisionLog, winstonSink } from '../src/log/decision-log.js';
import { recordDecision, type DecisionMetrics } from '../src/log/record-decision.js';
import type { CheckOutcome } from '../src/pipeline/check-pipeline.js';
import { CedarAuthorizer } from '../src/policy/authorizer.js';
import { loadPolicies } from '../src/policy/loader.js';
import { Metrics } from '../src/transport/metrics.js';
import { checkMessage, inProcessPipeline } from './in-process.js';

export interface LogCost {
  readonly part: string;
  readonly us: number;
}

const noMetrics: DecisionMetrics = { decisions: { count: () => undefined }, checkDuration: { observe: () => undefined } };

/** Outcomes of mtls-100's two loads: one request repeated, and distinct paths and request ids; 1,000 of each. */
async function outcomesOf(dir: string): Promise<{ repeated: CheckOutcome[]; distinct: CheckOutcome[] }> {
  const loaded = await loadPolicies(dir);
  if (!loaded.ok) throw new Error(`policies in ${dir} do not load`);
  const made: CheckOutcome[] = [];
  const pipeline = inProcessPipeline(new CedarAuthorizer(loaded.engine), { record: (outcome) => made.push(outcome) });
  await pipeline.run(checkMessage('/api/orders/42', undefined, { 'x-request-id': 'c0ffee00-0000-4000-8000-000000000042' }));
  for (let i = 0; i < 1000; i++) await pipeline.run(checkMessage(`/api/orders/${i}`, undefined, { 'x-request-id': `c0ffee00-0000-4000-8000-${String(i).padStart(12, '0')}` }));
  // As at 10,000 Checks a second: ten to a millisecond, whose time the line spells.
  const paced = (outcome: CheckOutcome, i: number): CheckOutcome => ({ ...outcome, nowMs: made[0]!.nowMs + Math.floor(i / 10) });
  return { repeated: Array.from({ length: 1000 }, (_, i) => paced(made[0]!, i)), distinct: made.slice(1).map(paced) };
}

/** CPU µs per decision of `record` over `count` decisions, yielding every 64 as a server's event loop does. */
async function cpuPerDecision(outcomes: readonly CheckOutcome[], count: number, make: () => { record: (o: CheckOutcome) => void; close: () => Promise<void> }): Promise<number> {
  const step = make();
  const started = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    step.record(outcomes[i % outcomes.length]!);
    if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
  }
  await step.close();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / count;
}

export async function logCost(dir: string, count = 200_000): Promise<LogCost[]> {
  const { repeated, distinct } = await outcomesOf(dir);
  const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-log-micro-'));
  let files = 0;
  // One set, as a server has: each new one would start another event-loop monitor of its own.
  const metrics = new Metrics();
  const parts: { part: string; make: () => { record: (o: CheckOutcome) => void; close: () => Promise<void> } }[] = [
    {
      part: 'record and line (a sink that drops them), no metrics',
      make: () => {
        const log = new DecisionLog({ write: () => undefined, close: async () => undefined });
        return { record: recordDecision(log, noMetrics), close: () => log.close() };
      },
    },
    {
      part: 'record and metrics (prom-client), no line',
      make: () => {
        const log = new DecisionLog(undefined);
        return { record: recordDecision(log, metrics), close: () => log.close() };
      },
    },
    {
      part: 'record, line, metrics, file sink (winston, LineWriter)',
      make: () => {
        const log = new DecisionLog(winstonSink({ stdout: false, file: join(scratch, `decisions-${files++}.log`) }, () => undefined));
        return { record: recordDecision(log, metrics), close: () => log.close() };
      },
    },
    {
      // The same without the disk's share, which moves with whatever else writes to it.
      part: 'record, line, metrics, file sink to /dev/null',
      make: () => {
        const log = new DecisionLog(winstonSink({ stdout: false, file: '/dev/null' }, () => undefined));
        return { record: recordDecision(log, metrics), close: () => log.close() };
      },
    },
  ];
  const results: LogCost[] = [];
  try {
    for (const [load, outcomes] of [['repeated', repeated], ['distinct', distinct]] as const) {
      for (const { part, make } of parts) {
        await cpuPerDecision(outcomes, count / 4, make);
        results.push({ part: `${load}: ${part}`, us: await cpuPerDecision(outcomes, count, make) });
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { policyDir } = await import('./estate.js');
  const { fileURLToPath } = await import('node:url');
  const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
  for (const { part, us } of await logCost(policyDir(join(root, 'policies'), 100))) process.stdout.write(`${part}\t${us.toFixed(2)} µs\n`);
}
