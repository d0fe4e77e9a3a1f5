/**
 * The issuer's key endpoint fails: refused connections, HTTP errors, or an answer 5 s late. No
 * Check may wait longer than `limits.keyFetchTimeoutMs` (plus scheduling margin) for keys, none
 * may be allowed without them, Checks that need no keys (mTLS) go on as before, and once keys
 * arrive tokens verify again.
 */
import { execFileSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { checkRequest, GatehouseClient, statusCode, headerValue, type CallOutcome, type CheckResponse } from '../support/check-client.js';
import { cleanup, scratchDir, startGatehouse, waitFor, type ServerProcess } from '../support/server-process.js';
import { closedPort, frontendWorkload, Issuer, KeyServer, kubernetesIssuer } from './issuer.js';

const keyFetchTimeoutMs = 300;
// Generous: a loaded 2-core machine delays timers; what matters is "hundreds of ms", not "5 s".
const marginMs = 700;

let issuer: Issuer;
const keyServers: KeyServer[] = [];
const clients: GatehouseClient[] = [];

beforeAll(async () => {
  issuer = await Issuer.create();
});

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(keyServers.map((server) => server.close()));
  await cleanup();
});

async function gatehouseWithKeysAt(uri: string): Promise<{ server: ServerProcess; client: GatehouseClient }> {
  const server = await startGatehouse({
    configYaml: `${Issuer.configYaml(uri)}limits:\n  keyFetchTimeoutMs: ${keyFetchTimeoutMs}\n  decisionTimeoutMs: 5000\n`,
  });
  const client = new GatehouseClient(server.grpcTarget);
  clients.push(client);
  return { server, client };
}

/** Checks in parallel, each with its latency. */
async function timedChecks(client: GatehouseClient, requests: Record<string, unknown>[]): Promise<{ ms: number; outcome: CallOutcome<CheckResponse> }[]> {
  return Promise.all(
    requests.map(async (request) => {
      const t0 = performance.now();
      const outcome = await client.checkOutcome(request, 10_000);
      return { ms: performance.now() - t0, outcome };
    }),
  );
}

async function expectKeysUnavailable(server: ServerProcess, results: { ms: number; outcome: CallOutcome<CheckResponse> }[]): Promise<void> {
  for (const { ms, outcome } of results) {
    if (!outcome.ok) throw outcome.error;
    expect({ status: statusCode(outcome.value), allowed: outcome.value.ok_response !== undefined }).toEqual({ status: 16, allowed: false });
    expect(ms).toBeLessThan(keyFetchTimeoutMs + marginMs);
    const line = await server.decision(headerValue(outcome.value, 'x-gatehouse-decision-id')!);
    expect(line).toMatchObject({ decision: 'deny', reason: 'keys_unavailable' });
  }
}

test('key endpoint down (connection refused): token Checks answer 401 keys_unavailable within the bound; mTLS Checks are still allowed', async () => {
  const { server, client } = await gatehouseWithKeysAt(`http://127.0.0.1:${await closedPort()}/keys`);
  const token = await issuer.serviceAccountToken();
  const results = await timedChecks(client, Array.from({ length: 20 }, () => checkRequest({ token, path: '/api/orders/1' })));
  await expectKeysUnavailable(server, results);
  const mtls = await client.check(checkRequest({ principal: frontendWorkload, path: '/api/orders/1' }));
  expect(statusCode(mtls)).toBe(0);
});

test('key endpoint answering HTTP 503: token Checks answer 401 keys_unavailable within the bound', async () => {
  const keys = await new KeyServer(() => issuer.jwks).start();
  keyServers.push(keys);
  keys.mode = { kind: 'status', status: 503 };
  const { server, client } = await gatehouseWithKeysAt(keys.uri);
  const token = await issuer.serviceAccountToken();
  await expectKeysUnavailable(server, await timedChecks(client, Array.from({ length: 10 }, () => checkRequest({ token, path: '/api/orders/1' }))));
});

test('key endpoint answering after 5 s: no Check waits longer than keyFetchTimeoutMs; once the keys arrive, the same token is allowed', async () => {
  const keys = await new KeyServer(() => issuer.jwks).start();
  keyServers.push(keys);
  keys.mode = { kind: 'slow', delayMs: 5000 };
  const { server, client } = await gatehouseWithKeysAt(keys.uri);
  const token = await issuer.serviceAccountToken();

  // The start-up fetch is still waiting for its answer: every Check gives up on it in time.
  const first = await timedChecks(client, Array.from({ length: 20 }, () => checkRequest({ token, path: '/api/orders/1' })));
  await expectKeysUnavailable(server, first);
  const mtls = await timedChecks(client, [checkRequest({ principal: frontendWorkload, path: '/api/orders/1' })]);
  expect(mtls[0]!.outcome.ok && statusCode(mtls[0]!.outcome.value)).toBe(0);
  expect(mtls[0]!.ms).toBeLessThan(marginMs);

  // The late answer still fills the cache: the token verifies from then on.
  const allowed = await waitFor(
    'the late key set to be used',
    async () => {
      const [result] = await timedChecks(client, [checkRequest({ token, path: '/api/orders/1' })]);
      expect(result!.ms).toBeLessThan(keyFetchTimeoutMs + marginMs);
      return result!.outcome.ok && statusCode(result!.outcome.value) === 0 ? result!.outcome.value : undefined;
    },
    15_000,
    200,
  );
  expect(headerValue(allowed, 'x-gatehouse-principal')).toBe(frontendWorkload);
});

test('bug: a FIFO at jwksFile blocked the key fetch forever (keys never loaded again, no exit on SIGTERM)', async () => {
  const dir = await scratchDir('jwks-fifo');
  const file = join(dir, 'jwks.json');
  execFileSync('mkfifo', [file]);
  const server = await startGatehouse({
    configYaml: `identity:\n  jwt:\n    - issuer: "${kubernetesIssuer}"\n      kind: kubernetes\n      audiences: ["gatehouse"]\n      jwksFile: "${file}"\nlimits:\n  keyFetchTimeoutMs: ${keyFetchTimeoutMs}\n`,
  });
  const client = new GatehouseClient(server.grpcTarget);
  clients.push(client);
  const token = await issuer.serviceAccountToken();
  await expectKeysUnavailable(server, await timedChecks(client, [checkRequest({ token, path: '/api/orders/1' })]));

  // A real key file in its place is picked up by the file watch.
  await rm(file);
  await writeFile(file, JSON.stringify(issuer.jwks));
  await waitFor(
    'the key file to be read',
    async () => {
      const response = await client.check(checkRequest({ token, path: '/api/orders/1' }));
      return statusCode(response) === 0 ? response : undefined;
    },
    15_000,
    250,
  );
  expect(await server.stop('SIGTERM', 10_000)).toBe(0);
});
