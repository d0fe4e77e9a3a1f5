/**
 * `limits.maxTokenBytes` at its edge: a genuine token of exactly the limit is verified and the
 * request decided on it; one byte longer is refused (401, token_too_large) before any parsing.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRequest, GatehouseClient, headerValue, statusCode } from '../support/check-client.js';
import { cleanup, scratchDir, startGatehouse, type ServerProcess } from '../support/server-process.js';
import { frontendWorkload, Issuer, kubernetesIssuer } from '../faults/issuer.js';

const limit = 2048;
let issuer: Issuer;
let server: ServerProcess;
let client: GatehouseClient;

beforeAll(async () => {
  issuer = await Issuer.create();
  const jwksFile = join(await scratchDir('token-size'), 'jwks.json');
  await writeFile(jwksFile, JSON.stringify(issuer.jwks));
  server = await startGatehouse({
    configYaml: `identity:\n  jwt:\n    - issuer: "${kubernetesIssuer}"\n      kind: kubernetes\n      audiences: ["gatehouse"]\n      jwksFile: "${jwksFile}"\nlimits:\n  maxTokenBytes: ${limit}\n`,
  });
  client = new GatehouseClient(server.grpcTarget);
});

afterAll(async () => {
  client?.close();
  await cleanup();
});

/** A genuine frontend token padded (a claim, and a header parameter for the base64 steps) to exactly `length` bytes. */
async function tokenOf(length: number): Promise<string> {
  const base = await issuer.serviceAccountToken();
  for (let headerPad = 0; headerPad < 3; headerPad++) {
    for (let pad = Math.max(0, Math.floor(((length - base.length) * 3) / 4) - 30); pad < length; pad++) {
      const token = await issuer.serviceAccountToken('shop', 'frontend', { pad: 'p'.repeat(pad) }, { x: 'h'.repeat(headerPad) });
      if (token.length === length) return token;
      if (token.length > length) break;
    }
  }
  throw new Error(`no padding gives a token of exactly ${length} bytes`);
}

test('a token of exactly maxTokenBytes is verified and decided on', async () => {
  const token = await tokenOf(limit);
  expect(Buffer.byteLength(token)).toBe(limit);
  const response = await client.check(checkRequest({ token, path: '/api/orders/1' }));
  expect(statusCode(response)).toBe(0);
  expect(headerValue(response, 'x-gatehouse-principal')).toBe(frontendWorkload);
});

test('one byte longer: 401, token_too_large, never allowed', async () => {
  const token = await tokenOf(limit + 1);
  const response = await client.check(checkRequest({ token, path: '/api/orders/1' }));
  expect(statusCode(response)).toBe(16);
  expect(response.ok_response).toBeUndefined();
  expect(headerValue(response, 'www-authenticate')).toMatch(/invalid_token/);
  expect(await server.decision(headerValue(response, 'x-gatehouse-decision-id')!)).toMatchObject({ decision: 'deny', reason: 'token_too_large', authn: 'jwt' });
});
