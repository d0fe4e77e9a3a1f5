/**
 * `serve --workers 2`: two processes share the gRPC port; the primary writes every decision line
 * and serves merged metrics and readiness. Several client connections, because node:cluster
 * hands each connection (not each call) to one worker.
 */
import { checkRequest, frontend, GatehouseClient, statusCode } from '../support/check-client.js';
import { cleanup, httpGet, startGatehouse, type ServerProcess } from '../support/server-process.js';

let server: ServerProcess;
const clients: GatehouseClient[] = [];

beforeAll(async () => {
  server = await startGatehouse({ args: ['--workers', '2'] });
  // A channel per client (no shared subchannel pool), so the connections can land on different workers.
  for (let i = 0; i < 6; i++) clients.push(new GatehouseClient(server.grpcTarget, { 'grpc.use_local_subchannel_pool': 1 }));
});

afterAll(async () => {
  for (const client of clients) client.close();
  await cleanup();
});

test('every Check is decided, logged once by the primary, and counted in the merged metrics', async () => {
  const ready = await httpGet(server, '/readyz');
  expect(ready.status).toBe(200);
  expect((JSON.parse(ready.body) as { workers: unknown[] }).workers).toHaveLength(2);

  const calls = 300;
  const responses = await Promise.all(
    Array.from({ length: calls }, (_, i) =>
      clients[i % clients.length]!.check(checkRequest({ principal: frontend, path: i % 2 === 0 ? `/api/orders/${i}` : `/admin/${i}` })),
    ),
  );
  expect(responses.filter((r) => statusCode(r) === 0)).toHaveLength(calls / 2);
  expect(responses.filter((r) => statusCode(r) === 7)).toHaveLength(calls / 2);

  const lines = await server.waitForDecisions(calls);
  expect(lines).toHaveLength(calls);
  expect(new Set(lines.map((line) => line.decisionId)).size).toBe(calls);

  const metrics = await httpGet(server, '/metrics');
  const counted = [...metrics.body.matchAll(/^gatehouse_decisions_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  expect(counted).toBe(calls);
  expect(metrics.body).toMatch(/^gatehouse_policy_reloads_total\{result="success"\} 2$/m);
});

test('SIGTERM stops every worker and the primary exits 0', async () => {
  expect(await server.stop('SIGTERM')).toBe(0);
  expect(server.stderr).toContain('"workers":2');
});
