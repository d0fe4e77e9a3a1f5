/**
 * Full run of server.test.ts: 5,000 mutated messages with a fresh seed (FUZZ_SEED replays one).
 * Run by `npm run test:fuzz`, not by `npm test`.
 */
import { cleanup, examplePolicyDir, startGatehouse } from '../support/server-process.js';
import { runServerFuzz } from './server-fuzz.js';

afterAll(cleanup);

const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

test(`5,000 mutated messages over gRPC (seed ${seed}): no crash, every answer a CheckResponse as decided in process or INTERNAL, one log line per answer, normal Checks still decided`, async () => {
  const server = await startGatehouse({ policies: examplePolicyDir });
  const report = await runServerFuzz(server, { count: 5000, seed, concurrency: 32 });
  process.stdout.write(`server fuzz (seed ${seed}): ${JSON.stringify({ ...report, problems: report.problems.length })}\n`);
  expect(report.problems).toEqual([]);
  expect(report.answered).toBeGreaterThan(report.sent / 3);
  expect(await server.stop()).toBe(0);
}, 300_000);
