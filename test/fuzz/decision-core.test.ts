/**
 * The decision path fuzzed in process, short version (10,000 iterations, fixed seed) for every
 * `npm test`. The full run (100,000+ iterations, fresh seed) is decision-core.slow.ts, run by
 * `npm run test:fuzz`. See core-fuzz.ts for the mix of inputs and what is checked.
 */
import { checkFuzzReport } from './check-report.js';
import { runCoreFuzz } from './core-fuzz.js';

test('10,000 random and mutated CheckRequests: no exception, no hang, no allow the oracle refutes, every answer and log line well formed', async () => {
  const report = await runCoreFuzz({ iterations: 10_000, seed: Number(process.env.FUZZ_SEED ?? 0x6a7e), iterationBoundMs: 2000, runBoundMs: 100_000 });
  checkFuzzReport(report, 10_000);
}, 120_000);
