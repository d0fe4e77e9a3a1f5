/**
 * Full run of decision-core.test.ts: 100,000 iterations with a fresh seed each run (FUZZ_SEED
 * replays one; FUZZ_ITERATIONS runs more). Run by `npm run test:fuzz`, not by `npm test`.
 */
import { checkFuzzReport } from './check-report.js';
import { runCoreFuzz } from './core-fuzz.js';

const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const iterations = Math.max(100_000, Number(process.env.FUZZ_ITERATIONS ?? 0));

test(`${iterations} random and mutated CheckRequests (seed ${seed}): no exception, no hang, no allow the oracle refutes, every answer and log line well formed`, async () => {
  const report = await runCoreFuzz({ iterations, seed, iterationBoundMs: 2000, runBoundMs: iterations * 10 });
  checkFuzzReport(report, iterations);
}, iterations * 12);
