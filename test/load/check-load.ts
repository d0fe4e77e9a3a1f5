import { readFileSync } from 'node:fs';
import { lineProblem } from '../fuzz/invariants.js';
import type { LoadRun } from './load-run.js';

/**
 * What a load run must show: no failed call, the offered rate served, exactly one well-formed
 * decision line per Check with outcomes matching the answers, nothing dropped, and resident memory
 * after warm-up ending within `memoryGrowth` of where it started.
 */
export async function checkLoadRun(run: LoadRun, options: { rate: number; steadyAfterSeconds: number; memoryGrowth: number }): Promise<void> {
  const { server, result, rss } = run;
  const lines = run.lines.map((line) => JSON.parse(line) as { decisionId: string; decision: string });
  const steady = rss.find((sample) => sample.atSeconds >= options.steadyAfterSeconds);
  const last = rss.at(-1);
  const byDecision = (kind: string): number => lines.filter((line) => line.decision === kind).length;
  const summary = {
    offered: options.rate,
    served: Math.round(result.rps),
    p50ms: Number(result.p50.toFixed(2)),
    p99ms: Number(result.p99.toFixed(2)),
    p999ms: Number(result.p999.toFixed(2)),
    sent: result.total.requests,
    statuses: result.total.checkStatus,
    decisionLines: lines.length,
    rssMb: rss.map((sample) => `${sample.atSeconds.toFixed(0)}s:${sample.mb.toFixed(0)}`).join(' '),
    heapMb: rss.map((sample) => sample.heapMb.toFixed(0)).join(' '),
    droppedMetric: run.droppedMetric,
  };
  process.stdout.write(`load: ${JSON.stringify(summary)}\n`);

  expect({ failures: result.total.failures, summary }).toEqual({ failures: 0, summary });
  expect(result.rps).toBeGreaterThanOrEqual(options.rate * 0.95);

  // Exactly one line per Check the server answered (warm-up included), and the outcomes agree.
  expect(lines.length).toBe(result.total.requests);
  expect(server.stdoutLines).toEqual([]);
  expect(new Set(lines.map((line) => line.decisionId)).size).toBe(lines.length);
  expect(byDecision('allow')).toBe(result.total.checkStatus['0'] ?? 0);
  expect(byDecision('deny')).toBe((result.total.checkStatus['7'] ?? 0) + (result.total.checkStatus['16'] ?? 0));
  expect(byDecision('error')).toBe(0);
  const bad = run.lines.map(lineProblem).find((problem) => problem !== undefined);
  expect(bad).toBeUndefined();
  // Every request of the cycle got its own answer: no other status ever came back.
  expect(Object.keys(result.total.checkStatus).map(Number).sort()).toEqual([...new Set(run.expectedStatuses)].sort());
  expect(run.droppedMetric).toBe(0);

  expect(steady).toBeDefined();
  expect(last!.mb).toBeLessThanOrEqual(steady!.mb * (1 + options.memoryGrowth));

  expect(await server.stop()).toBe(0);
  // Nothing more was written at shutdown: every line was already there.
  expect(readFileSync(run.logFile, 'utf8').split('\n').length - 1).toBe(lines.length);
}
