import { KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuthnResult } from '../../src/core/identity.js';
import { KubeApi } from '../../src/kubernetes/kube-api.js';
import { TokenReviewVerifier, type TokenReviewOptions } from '../../src/kubernetes/token-review.js';
import { FakeApiServer, type Reviewer } from './fake-api-server.js';
import { opaqueJwt } from './support.js';

let server: FakeApiServer;
let api: KubeApi;
let dir: string;

beforeAll(async () => {
  server = await FakeApiServer.start();
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-review-'));
  const kc = new KubeConfig();
  kc.loadFromFile(server.writeKubeconfig(dir));
  api = new KubeApi(kc);
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  server.reviews.clear();
  server.maxReviewsInFlight = 0;
  server.reviewDelayMs = 0;
  server.reviewer = kubeletTokens;
});

const now = () => Math.floor(Date.now() / 1000);

/** Accepts tokens whose payload says `ok`, as a bound token of shop/frontend's pod frontend-1. */
const kubeletTokens: Reviewer = (token, audiences) => {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString() || '{}') as { ok?: boolean };
  if (!payload.ok) return { authenticated: false, error: '[invalid bearer token, square/go-jose: error in cryptographic primitive]' };
  return {
    authenticated: true,
    audiences: audiences.filter((aud) => aud === 'gatehouse'),
    user: {
      username: 'system:serviceaccount:shop:frontend',
      uid: 'sa-frontend-1',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:shop', 'system:authenticated'],
      extra: {
        'authentication.kubernetes.io/pod-name': ['frontend-1'],
        'authentication.kubernetes.io/pod-uid': ['pod-1'],
        'authentication.kubernetes.io/credential-id': ['JTI=abc'],
      },
    },
  };
};

function verifier(options: Partial<TokenReviewOptions> = {}): TokenReviewVerifier {
  return new TokenReviewVerifier(api, { audiences: ['gatehouse'], trustDomain: 'cluster.local', ...options });
}

const good = (extra: Record<string, unknown> = {}) =>
  opaqueJwt({ ok: true, iss: 'https://kubernetes.default.svc.cluster.local', exp: now() + 600, nonce: Math.random(), ...extra });

const codeOf = (result: AuthnResult) => (result.ok ? 'ok' : result.code);

describe('TokenReviewVerifier', () => {
  test('an authenticated service account becomes its workload, with the bound pod for lifecycle checks', async () => {
    const token = good();
    const exp = now() + 600;
    const result = await verifier().verify(opaqueJwt({ ok: true, iss: 'https://kubernetes.default.svc.cluster.local', exp }), now());
    expect(result).toEqual({
      ok: true,
      identity: {
        kind: 'workload',
        spiffeId: expect.objectContaining({ trustDomain: 'cluster.local', path: '/ns/shop/sa/frontend' }),
        class: 'unknown',
        authn: 'jwt',
        issuer: 'https://kubernetes.default.svc.cluster.local',
        expiresAt: exp,
        kubernetes: { namespace: 'shop', serviceAccountName: 'frontend', serviceAccountUid: 'sa-frontend-1', podName: 'frontend-1', podUid: 'pod-1' },
      },
    });
    expect(codeOf(await verifier().verify(token, now()))).toBe('ok');
  });

  test('the review asks for the configured audiences', async () => {
    let asked: readonly string[] = [];
    server.reviewer = (token, audiences) => {
      asked = audiences;
      return kubeletTokens(token, audiences);
    };
    await verifier({ audiences: ['gatehouse', 'mesh'] }).verify(good(), now());
    expect(asked).toEqual(['gatehouse', 'mesh']);
  });

  test.each<[string, Reviewer, string]>([
    ['not authenticated', () => ({ authenticated: false, error: 'token has been invalidated' }), 'signature_invalid'],
    ['no confirmed audience (an authenticator that ignores audiences)', () => ({ authenticated: true, user: { username: 'system:serviceaccount:shop:frontend', uid: 'u' } }), 'audience_mismatch'],
    ['another audience confirmed', () => ({ authenticated: true, audiences: ['api'], user: { username: 'system:serviceaccount:shop:frontend', uid: 'u' } }), 'audience_mismatch'],
    ['a person, not a service account', () => ({ authenticated: true, audiences: ['gatehouse'], user: { username: 'alice@example.com', uid: 'u' } }), 'bad_claims'],
    ['no service account uid', () => ({ authenticated: true, audiences: ['gatehouse'], user: { username: 'system:serviceaccount:shop:frontend' } }), 'bad_claims'],
    ['a name that is no SPIFFE path segment', () => ({ authenticated: true, audiences: ['gatehouse'], user: { username: 'system:serviceaccount:shop:a%2Fb', uid: 'u' } }), 'bad_claims'],
    ['the API server failing', () => ({ httpStatus: 500 }), 'keys_unavailable'],
    ['RBAC refusing the review', () => ({ httpStatus: 403 }), 'keys_unavailable'],
  ])('%s: %s', async (_name, reviewer, code) => {
    server.reviewer = reviewer;
    expect(codeOf(await verifier().verify(good(), now()))).toBe(code);
  });

  test('a refusal detail never repeats the token', async () => {
    const token = opaqueJwt({ ok: false, secret: 'do-not-log' });
    server.reviewer = () => ({ authenticated: false, error: 'token has been invalidated' });
    const result = await verifier().verify(token, now());
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain(token.split('.')[1]!.slice(0, 16));
  });

  test('200 concurrent Checks with one token make exactly one review', async () => {
    server.reviewDelayMs = 100;
    const v = verifier();
    const token = good();
    const results = await Promise.all(Array.from({ length: 200 }, () => v.verify(token, now())));
    expect(results.every((result) => result.ok)).toBe(true);
    expect(server.reviews.get(token)).toBe(1);
    // Later Checks are answered from the cache.
    expect(codeOf(await v.verify(token, now()))).toBe('ok');
    expect(server.reviews.get(token)).toBe(1);
  });

  test('distinct tokens: one review each, never more than the limit at once', async () => {
    server.reviewDelayMs = 30;
    const v = verifier({ maxConcurrent: 8 });
    const tokens = Array.from({ length: 40 }, () => good());
    const results = await Promise.all(tokens.map((token) => v.verify(token, now())));
    expect(results.map(codeOf)).toEqual(tokens.map(() => 'ok'));
    expect(tokens.map((token) => server.reviews.get(token))).toEqual(tokens.map(() => 1));
    expect(server.maxReviewsInFlight).toBeLessThanOrEqual(8);
    expect(server.maxReviewsInFlight).toBeGreaterThan(1);
  });

  test('an accepted token is cached no longer than its exp', async () => {
    const v = verifier();
    const exp = now() + 60;
    const token = opaqueJwt({ ok: true, exp });
    expect(codeOf(await v.verify(token, now()))).toBe('ok');
    expect(await v.verify(token, exp)).toMatchObject({ ok: false, code: 'token_expired' });
    expect(server.reviews.get(token)).toBe(1);
  });

  test('a refusal is cached briefly; an API failure is not cached at all', async () => {
    const v = verifier();
    const refused = opaqueJwt({ ok: false });
    await v.verify(refused, now());
    await v.verify(refused, now());
    expect(server.reviews.get(refused)).toBe(1);

    server.reviewer = () => ({ httpStatus: 503 });
    const token = good();
    expect(codeOf(await v.verify(token, now()))).toBe('keys_unavailable');
    server.reviewer = kubeletTokens;
    expect(codeOf(await v.verify(token, now()))).toBe('ok');
    expect(server.reviews.get(token)).toBe(2);
  });

  test('a review slower than the timeout fails closed', async () => {
    server.reviewDelayMs = 500;
    const result = await verifier({ timeoutMs: 50 }).verify(good(), now());
    expect(result).toMatchObject({ ok: false, code: 'keys_unavailable', detail: 'TokenReview timed out' });
  });

  test('oversized and empty tokens are refused without a review', async () => {
    const v = verifier({ maxTokenBytes: 100 });
    expect(codeOf(await v.verify('x'.repeat(101), now()))).toBe('token_too_large');
    expect(codeOf(await v.verify('', now()))).toBe('malformed_credential');
    expect(server.reviews.size).toBe(0);
  });

  test('no audience configured is a configuration error: any API server token would pass', () => {
    expect(() => verifier({ audiences: [] })).toThrow(expect.objectContaining({ code: 'config' }));
  });
});

describe('TokenReviewVerifier with the API server down', () => {
  test('refuses with keys_unavailable', async () => {
    const down = await FakeApiServer.start();
    const downDir = mkdtempSync(join(tmpdir(), 'gatehouse-review-down-'));
    try {
      const kc = new KubeConfig();
      kc.loadFromFile(down.writeKubeconfig(downDir));
      await down.down();
      const result = await new TokenReviewVerifier(new KubeApi(kc), { audiences: ['gatehouse'], trustDomain: 'cluster.local' }).verify(good(), now());
      expect(result).toMatchObject({ ok: false, code: 'keys_unavailable', detail: expect.stringContaining('ECONNREFUSED') });
    } finally {
      await down.close();
      rmSync(downDir, { recursive: true, force: true });
    }
  });
});
