/**
 * Mutated CheckRequests against the real server process, short version (1,500 messages, fixed
 * seed) for every `npm test`; server.slow.ts sends 5,000 with a fresh seed (`npm run test:fuzz`).
 */
import { cleanup, examplePolicyDir, startGatehouse } from '../support/server-process.js';
import { runServerFuzz } from './server-fuzz.js';

afterAll(cleanup);

test('1,500 mutated messages over gRPC: the server never crashes, answers each with a CheckResponse (as decided in process) or INTERNAL, logs one line per answer, and still decides normally', async () => {
  const server = await startGatehouse({ policies: examplePolicyDir });
  const report = await runServerFuzz(server, { count: 1500, seed: Number(process.env.FUZZ_SEED ?? 0x5e7e), concurrency: 16 });
  process.stdout.write(`server fuzz: ${JSON.stringify({ ...report, problems: report.problems.length })}\n`);
  expect(report.problems).toEqual([]);
  expect(report.answered).toBeGreaterThan(report.sent / 3);
  expect(await server.stop()).toBe(0);
}, 120_000);
