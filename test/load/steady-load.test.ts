/**
 * Load, short version for every `npm test`: 8 s at 800 req/s offered, 256 calls in flight at
 * most. The full run (60 s, memory within +10%) is steady-load.slow.ts, run by
 * `npm run test:load`. Eight seconds on a busy machine is mostly V8 growing its heap, so here
 * memory is only held to "no runaway growth" (+60% after 3 s); the full run measures flatness.
 */
import { cleanup } from '../support/server-process.js';
import { checkLoadRun } from './check-load.js';
import { runLoad } from './load-run.js';

afterAll(cleanup);

const rate = Number(process.env.LOAD_RATE ?? 800);

test(`8 s at ${rate} req/s open loop, 256 concurrent: no failed call, one decision line per Check, no runaway memory`, async () => {
  const run = await runLoad({ seconds: 8, rate, concurrency: 256, warmupSeconds: 1, sampleEveryMs: 1000 });
  await checkLoadRun(run, { rate, steadyAfterSeconds: 3, memoryGrowth: 0.6 });
}, 90_000);
