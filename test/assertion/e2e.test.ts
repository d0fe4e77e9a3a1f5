/**
 * The upstream assertion through the real server process (docs/reference.md, "Upstream assertion"): on an
 * allow it overwrites whatever the client sent and verifies with the key set on the HTTP port;
 * a deny, a dry-run deny and a destination outside `services` carry none, and a client-sent copy
 * is removed. Run once as one process and as a cluster of workers behind one primary.
 *
 * Needs `npm run build` first (the server runs from dist/).
 */
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { checkRequest, frontend, GatehouseClient, headerOption, headerValue, statusCode, type CheckResponse } from '../support/check-client.js';
import { cleanup, httpGet, scratchDir, startGatehouse, waitFor, type ServerProcess } from '../support/server-process.js';
import { privatePem } from './support.js';

const issuer = 'https://gatehouse.e2e';
const assertionHeader = 'x-gatehouse-assertion';
const forged = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.';

afterAll(cleanup);

function configYaml(keyFile: string): string {
  return `
dryRunNamespaces: ["registry"]
response:
  assertion:
    enabled: true
    issuer: "${issuer}"
    ttlSeconds: 60
    keyFile: "${keyFile}"
    services: ["orders.shop", "artifacts.registry"]
`;
}

const variants = [
  { name: 'one process, key file', workers: 1, withKeyFile: true },
  { name: 'two workers, generated key', workers: 2, withKeyFile: false },
  { name: 'two workers, key file', workers: 2, withKeyFile: true },
];

describe.each(variants)('$name', ({ workers, withKeyFile }) => {
  let server: ServerProcess;
  let client: GatehouseClient;
  let keyFile = '';

  beforeAll(async () => {
    if (withKeyFile) {
      keyFile = join(await scratchDir('assertion-key'), 'signing.pem');
      await writeFile(keyFile, privatePem());
    }
    server = await startGatehouse({ configYaml: configYaml(keyFile), args: ['--workers', String(workers)] });
    client = new GatehouseClient(server.grpcTarget);
  });

  afterAll(() => client?.close());

  const verify = (token: string, audience: string) =>
    jwtVerify(token, createRemoteJWKSet(new URL(`${server.httpUrl}/.well-known/jwks.json`)), { issuer, audience, algorithms: ['ES256'] });

  function assertionOf(response: CheckResponse): string {
    const option = headerOption(response, assertionHeader);
    expect(option.append_action).toBe('OVERWRITE_IF_EXISTS_OR_ADD');
    return option.header?.value ?? '';
  }

  test('an allow overwrites a client-sent assertion with one that verifies through the served key set', async () => {
    const response = await client.check(checkRequest({ principal: frontend, path: '/api/orders/1', headers: { [assertionHeader]: forged } }));
    expect(statusCode(response)).toBe(0);
    const token = assertionOf(response);
    expect(token).not.toBe(forged);
    const { payload, protectedHeader } = await verify(token, 'orders.shop');
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'JWT' });
    expect(payload).toMatchObject({ iss: issuer, sub: frontend, aud: 'orders.shop', authn: 'mtls', class: 'unknown' });
    expect(payload.exp! - payload.iat!).toBe(60);
    expect(payload.decision_id).toBe(headerValue(response, 'x-gatehouse-decision-id'));
    await expect(verify(token, 'payments.shop')).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'aud' });
  });

  test('the same caller and service reuse the assertion; each request keeps its own decision id', async () => {
    const first = await client.check(checkRequest({ principal: frontend, path: '/api/orders/2' }));
    const second = await client.check(checkRequest({ principal: frontend, path: '/api/orders/3' }));
    expect(assertionOf(second)).toBe(assertionOf(first));
    expect(headerValue(second, 'x-gatehouse-decision-id')).not.toBe(headerValue(first, 'x-gatehouse-decision-id'));
  });

  test('an anonymous allow carries no assertion, and a client-sent one is removed', async () => {
    const response = await client.check(checkRequest({ path: '/healthz', headers: { [assertionHeader]: forged } }));
    expect(statusCode(response)).toBe(0);
    expect(headerValue(response, assertionHeader)).toBeUndefined();
    expect(response.ok_response?.headers_to_remove).toContain(assertionHeader);
  });

  const without = [
    { name: 'a policy deny', request: { principal: frontend, method: 'DELETE', path: '/api/orders/1' }, status: 7 },
    { name: 'an invalid credential', request: { principal: frontend, path: '/api/orders/1', token: 'not-a-token' }, status: 16 },
  ];
  test.each(without)('$name carries no assertion', async ({ request, status }) => {
    const response = await client.check(checkRequest({ ...request, headers: { [assertionHeader]: forged } }));
    expect(statusCode(response)).toBe(status);
    expect(response.ok_response).toBeUndefined();
    expect(JSON.stringify(response)).not.toContain(assertionHeader);
  });

  const removed = [
    { name: 'an allow for a service outside `services`', request: { principal: frontend, host: 'catalog.shop.svc.cluster.local', path: '/api/products/1' }, dryRun: false },
    // The route names the service: dry-run never follows the caller's Host header.
    { name: 'a dry-run deny', request: { principal: frontend, host: 'artifacts.registry.svc.cluster.local', service: 'artifacts.registry', path: '/v2/app/manifests/1' }, dryRun: true },
  ];
  test.each(removed)('$name goes upstream with the client-sent assertion removed', async ({ request, dryRun }) => {
    const response = await client.check(checkRequest({ ...request, headers: { [assertionHeader]: forged } }));
    expect(statusCode(response)).toBe(0);
    expect(headerValue(response, assertionHeader)).toBeUndefined();
    expect(response.ok_response?.headers_to_remove).toContain(assertionHeader);
    expect(headerValue(response, 'x-gatehouse-dry-run')).toBe(dryRun ? 'deny' : undefined);
  });

  test('every worker signs with a key of the served set', async () => {
    // Each client has its own connection, and the cluster deals connections to workers in turn.
    const clients = Array.from({ length: 2 * workers }, () => new GatehouseClient(server.grpcTarget, { 'grpc.use_local_subchannel_pool': 1 }));
    try {
      const tokens = await Promise.all(clients.map(async (c) => assertionOf(await c.check(checkRequest({ principal: frontend, path: '/api/orders/9' })))));
      for (const token of tokens) await expect(verify(token, 'orders.shop')).resolves.toBeDefined();
      // One cached assertion per worker: as many distinct ones as workers shows every worker answered.
      expect(new Set(tokens).size).toBe(workers);
    } finally {
      for (const c of clients) c.close();
    }
  });

  test('the key set is served as JSON with public keys only', async () => {
    const { status, body } = await httpGet(server, '/.well-known/jwks.json');
    expect(status).toBe(200);
    const { keys } = JSON.parse(body) as { keys: Record<string, unknown>[] };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(keys[0]).not.toHaveProperty('d');
  });

  if (withKeyFile) {
    test('a new key file signs from then on while assertions of the old key keep verifying', async () => {
      const before = assertionOf(await client.check(checkRequest({ principal: frontend, path: '/api/orders/1' })));
      const oldKid = decodeProtectedHeader(before).kid;
      await writeFile(keyFile, privatePem());
      const after = await waitFor(
        'an assertion signed with the new key',
        async () => {
          const token = assertionOf(await client.check(checkRequest({ principal: frontend, path: '/api/orders/1' })));
          return decodeProtectedHeader(token).kid === oldKid ? undefined : token;
        },
        10_000,
        100,
      );
      // With workers, the primary serving the key set reads the file on its own schedule.
      const newKid = decodeProtectedHeader(after).kid;
      const served = await waitFor(
        'the new key in the served set',
        async () => {
          const kids = (JSON.parse((await httpGet(server, '/.well-known/jwks.json')).body) as { keys: { kid: string }[] }).keys.map((key) => key.kid);
          return kids[0] === newKid ? kids : undefined;
        },
        10_000,
        100,
      );
      expect(served).toEqual([newKid, oldKid]);
      await expect(verify(before, 'orders.shop')).resolves.toBeDefined();
      await expect(verify(after, 'orders.shop')).resolves.toBeDefined();
      expect(decodeJwt(after).jti).not.toBe(decodeJwt(before).jti);
    });
  }
});
