/**
 * The collector misbehaves: nothing listens on its port, it answers 500, or it takes requests
 * and never answers. Under a bounded loopback load every Check is still answered, and answered
 * right; what could not be delivered is counted in gatehouse_telemetry_dropped_total per
 * signal, and the failure is said once on stderr, not once per batch. (How fast the Checks
 * stay is the bench's to measure: npm run bench, telemetry scenarios.)
 */
import { checkRequest, frontend, GatehouseClient, statusCode } from '../support/check-client.js';
import { OtlpReceiver, type ReceiverMode } from '../support/otlp-receiver.js';
import { cleanup, httpGet, startGatehouse, waitFor, type ServerProcess } from '../support/server-process.js';

const receivers: OtlpReceiver[] = [];
const clients: GatehouseClient[] = [];
afterAll(async () => {
  for (const client of clients) client.close();
  await cleanup();
  await Promise.all(receivers.map((receiver) => receiver.close()));
});

/** More Checks than one export queue holds (2048), so a stuck collector also fills it. */
const checks = 3000;
const concurrency = 32;

async function collectorEndpoint(mode: ReceiverMode | 'down'): Promise<{ endpoint: string; receiver?: OtlpReceiver }> {
  const receiver = await OtlpReceiver.start(mode === 'down' ? 'ok' : mode);
  if (mode === 'down') {
    // A port that was just ours and now has nobody listening: connections are refused.
    const { endpoint } = receiver;
    await receiver.close();
    return { endpoint };
  }
  receivers.push(receiver);
  return { endpoint: receiver.endpoint, receiver };
}

/** `checks` Checks, `concurrency` at a time, alternately allowed and denied; returns how many were answered wrong. */
async function load(client: GatehouseClient): Promise<{ wrong: number; failed: number }> {
  let next = 0;
  let wrong = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < checks) {
        const i = next++;
        const allowed = i % 2 === 0;
        const outcome = await client.checkOutcome(
          checkRequest({ principal: frontend, method: allowed ? 'GET' : 'DELETE', path: `/api/orders/${i}`, headers: { traceparent: `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01` } }),
        );
        if (!outcome.ok) failed += 1;
        else if (statusCode(outcome.value) !== (allowed ? 0 : 7)) wrong += 1;
      }
    }),
  );
  return { wrong, failed };
}

async function dropped(server: ServerProcess, signal: 'logs' | 'traces'): Promise<number> {
  const body = (await httpGet(server, '/metrics')).body;
  return Number(new RegExp(`^gatehouse_telemetry_dropped_total\\{signal="${signal}"\\} (\\S+)$`, 'm').exec(body)?.[1] ?? 0);
}

function exportFailures(server: ServerProcess): Record<string, unknown>[] {
  return server.opsLog().filter((entry) => String(entry.message).startsWith('telemetry export failing'));
}

test.each([
  ['down (connection refused)', 'down'],
  ['answering 500', 'fail'],
  ['hanging (never answers)', 'hang'],
] as const)('a collector %s: every Check answered right, drops counted per signal, the failure said once', async (_name, mode) => {
  const { endpoint, receiver } = await collectorEndpoint(mode);
  const server = await startGatehouse({ configYaml: `telemetry:\n  otlp:\n    endpoint: "${endpoint}"\n`, readyTimeoutMs: 20_000 });
  const client = new GatehouseClient(server.grpcTarget);
  clients.push(client);

  expect(await load(client)).toEqual({ wrong: 0, failed: 0 });
  await waitFor('every decision line', () => (server.decisions.length === checks ? true : undefined), 10_000);
  // Export timeouts are 5 s: a hanging collector's first batch is counted after that.
  const counted = await waitFor(
    'drops of both signals',
    async () => {
      const logs = await dropped(server, 'logs');
      const traces = await dropped(server, 'traces');
      return logs > 0 && traces > 0 ? { logs, traces } : undefined;
    },
    20_000,
    250,
  );
  expect(counted.logs).toBeLessThanOrEqual(checks);
  expect(counted.traces).toBeLessThanOrEqual(checks);
  if (mode !== 'down') expect(receiver!.requests.get('/v1/logs')).toBeGreaterThan(0);
  await waitFor('the failure said', () => exportFailures(server)[0], 5000);
  // Many batches failed; the operational log said so once (at most once a minute).
  expect(exportFailures(server)).toHaveLength(1);
  expect(await server.stop()).toBe(0);
});
