/**
 * One workload, two ways of authenticating: the mTLS peer `spiffe://cluster.local/ns/shop/sa/frontend`
 * and a Kubernetes service-account token for `system:serviceaccount:shop:frontend` reach the same
 * policy decisions through the real server; a token for another workload alongside the mTLS peer
 * is refused. Keys come from a jwksFile; the token is signed for real.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { checkRequest, frontend, GatehouseClient, headerValue, statusCode, type CheckResponse } from '../support/check-client.js';
import { cleanup, scratchDir, startGatehouse, type ServerProcess } from '../support/server-process.js';

const issuer = 'https://kubernetes.default.svc.cluster.local';
let server: ServerProcess;
let client: GatehouseClient;
let sign: (namespace: string, account: string) => Promise<string>;

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const dir = await scratchDir('identity');
  const jwksFile = join(dir, 'jwks.json');
  await writeFile(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] }));
  sign = async (namespace, account) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ 'kubernetes.io': { namespace, serviceaccount: { name: account, uid: `uid-${account}` } } })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(issuer)
      .setSubject(`system:serviceaccount:${namespace}:${account}`)
      .setAudience('gatehouse')
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(privateKey);
  };
  server = await startGatehouse({
    configYaml: `identity:\n  jwt:\n    - issuer: "${issuer}"\n      kind: kubernetes\n      audiences: ["gatehouse"]\n      jwksFile: "${jwksFile}"\n`,
  });
  client = new GatehouseClient(server.grpcTarget);
});

afterAll(async () => {
  client?.close();
  await cleanup();
});

async function lineOf(response: CheckResponse) {
  const id = headerValue(response, 'x-gatehouse-decision-id');
  if (id === undefined) throw new Error('no decision id in the response');
  return server.decision(id);
}

test.each([
  ['reading an order', 'GET', '/api/orders/42', 0, ['frontend-reads-orders']],
  ['deleting an order', 'DELETE', '/api/orders/42', 7, ['orders-writes-need-tenant']],
  ['reading the admin API', 'GET', '/admin/flags', 7, []],
])('%s: mTLS and a service-account token decide alike', async (_name, method, path, expected, policies) => {
  const token = await sign('shop', 'frontend');
  const byMtls = await client.check(checkRequest({ principal: frontend, method, path }));
  const byToken = await client.check(checkRequest({ token, method, path }));
  expect(statusCode(byMtls)).toBe(expected);
  expect(statusCode(byToken)).toBe(expected);
  const mtlsLine = await lineOf(byMtls);
  const tokenLine = await lineOf(byToken);
  expect(mtlsLine).toMatchObject({ principal: `Workload::"${frontend}"`, authn: 'mtls', policies });
  expect(tokenLine).toMatchObject({ principal: `Workload::"${frontend}"`, authn: 'jwt', policies });
});

test('a token for another workload alongside the mTLS peer is refused as a mismatch', async () => {
  const token = await sign('shop', 'orders');
  const response = await client.check(checkRequest({ principal: frontend, token, path: '/api/orders/1' }));
  expect(statusCode(response)).toBe(16);
  const line = await lineOf(response);
  expect(line).toMatchObject({ decision: 'deny', reason: 'identity_mismatch' });
  expect(JSON.stringify(server.decisions)).not.toContain(token);
});
