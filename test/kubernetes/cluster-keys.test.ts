import { KubeConfig } from '@kubernetes/client-node';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IssuerKeySource } from '../../src/identity/key-source.js';
import { clusterKeysOrigin } from '../../src/kubernetes/cluster-keys.js';
import { KubeApi } from '../../src/kubernetes/kube-api.js';
import { FakeApiServer } from './fake-api-server.js';

const issuer = 'https://kubernetes.default.svc.cluster.local';
let server: FakeApiServer;
let api: KubeApi;
let dir: string;
const sources: IssuerKeySource[] = [];

async function publicKey(kid: string): Promise<JWK> {
  const { publicKey: key } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(key)), kid, alg: 'RS256', use: 'sig' };
}

beforeAll(async () => {
  server = await FakeApiServer.start('gatehouse-sa-token');
  server.jwks = { keys: [await publicKey('k1')] };
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-keys-'));
  const kc = new KubeConfig();
  kc.loadFromFile(server.writeKubeconfig(dir));
  api = new KubeApi(kc);
});

afterAll(async () => {
  for (const source of sources) source.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('cluster keys', () => {
  test('fetched through discovery with the service-account token, then refreshed on rotation', async () => {
    const source = new IssuerKeySource(issuer, clusterKeysOrigin(api, { expectedIssuer: issuer }), { minRefetchIntervalMs: 0 });
    sources.push(source);
    source.start();
    expect(await source.keysFor('k1', 2_000)).toMatchObject({ ok: true });

    server.jwks = { keys: [await publicKey('k2'), ...server.jwks.keys] };
    expect(await source.keysFor('k2', 2_000)).toMatchObject({ ok: true });

    const seen = server.requests.filter((r) => r.path === '/.well-known/openid-configuration' || r.path === '/openid/v1/jwks');
    expect(seen.map((r) => r.path)).toEqual(expect.arrayContaining(['/.well-known/openid-configuration', '/openid/v1/jwks']));
    expect(new Set(seen.map((r) => r.authorization))).toEqual(new Set(['Bearer gatehouse-sa-token']));
  });

  test('a discovery document naming another issuer is refused', async () => {
    const origin = clusterKeysOrigin(api, { expectedIssuer: 'https://oidc.example.com/cluster' });
    await expect(origin.fetch(AbortSignal.timeout(2_000))).rejects.toThrow(/names issuer "https:\/\/kubernetes.default.svc.cluster.local", not the configured one/);
  });

  test('an API server refusing the credentials is an error, not an empty key set', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: server.url, skipTLSVerify: true }],
      users: [{ name: 'stranger', token: 'wrong-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'stranger' }],
      currentContext: 'fake',
    });
    await expect(clusterKeysOrigin(new KubeApi(kc)).fetch(AbortSignal.timeout(2_000))).rejects.toThrow('cluster discovery document answered HTTP 401: Unauthorized');
  });
});
