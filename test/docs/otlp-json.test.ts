/**
 * docs/report.md's jq program, run over OTLP/JSON of a real export (what a collector's file
 * exporter writes), gives back the server's own decision lines: every field, the same values.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkRequest, frontend, GatehouseClient } from '../support/check-client.js';
import { OtlpReceiver } from '../support/otlp-receiver.js';
import { cleanup, projectRoot, startGatehouse, waitFor } from '../support/server-process.js';

const reportDoc = readFileSync(join(projectRoot, 'docs', 'report.md'), 'utf8');
/** The program between `jq -c '` and its closing quote. */
const program = /jq -c '\n([\s\S]*?)\n' /.exec(reportDoc)?.[1];

let receiver: OtlpReceiver | undefined;
let client: GatehouseClient | undefined;
afterAll(async () => {
  client?.close();
  await cleanup();
  await receiver?.close();
});

test('docs/report.md: the jq program turns the collector\'s OTLP/JSON back into the decision lines', async () => {
  expect(program).toBeDefined();
  receiver = await OtlpReceiver.start();
  const server = await startGatehouse({ configYaml: `telemetry:\n  otlp:\n    endpoint: "${receiver.endpoint}"\n    traces: false\n` });
  client = new GatehouseClient(server.grpcTarget);
  const requests = [
    checkRequest({ principal: frontend, method: 'GET', path: '/api/orders/1' }),
    checkRequest({ principal: frontend, method: 'DELETE', path: '/api/orders/1', headers: { traceparent: `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01` } }),
    checkRequest({ method: 'GET', path: '/api/orders/2' }),
    checkRequest({ principal: 'spiffe://elsewhere.example/ns/x/sa/y', method: 'GET', path: '/' }),
  ];
  for (const request of requests) await client.check(request);
  await waitFor('every record', () => (receiver!.logs.length === requests.length ? true : undefined), 10_000, 100);
  const lines = await waitFor('every line', () => (server.decisions.length === requests.length ? server.decisions : undefined), 5000);

  const jq = spawnSync('jq', ['-c', program!], { input: `${receiver.logsJson.join('\n')}\n`, encoding: 'utf8' });
  expect(jq.stderr).toBe('');
  expect(jq.status).toBe(0);
  const converted = jq.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(converted).toEqual(lines);
});
