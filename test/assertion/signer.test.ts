import { decodeJwt, decodeProtectedHeader, errors } from 'jose';
import { jwksPath, jwksRoute } from '../../src/assertion/jwks-route.js';
import { KeyRing } from '../../src/assertion/key-ring.js';
import { AssertionSigner } from '../../src/assertion/signer.js';
import { signingKeyFromPem, type SigningKey } from '../../src/assertion/signing-key.js';
import { allow, anonymous, Clock, frontendPrincipal, issuer, JwksServer, privatePem, user, workload } from './support.js';

const ttlSeconds = 60;
let key: SigningKey;
let clock: Clock;
let ring: KeyRing;
let server: JwksServer;

beforeAll(async () => {
  key = await signingKeyFromPem(privatePem(), 'signing.pem');
});

beforeEach(async () => {
  clock = new Clock();
  ring = new KeyRing(key, { ttlSeconds, skewSeconds: 30 });
  server = await JwksServer.start(new Map([[jwksPath, jwksRoute({ keySet: () => ring.keySet(clock.seconds) })]]));
});

afterEach(() => server.close());

function signer(services: readonly string[] = [], cacheSize?: number): AssertionSigner {
  return new AssertionSigner(ring, { issuer, ttlSeconds, services, cacheSize });
}

async function mint(minter: AssertionSigner, decision = allow(), decisionId = 'D1'): Promise<string> {
  const token = await minter.mint(decision, decisionId, clock.seconds);
  if (token === undefined) throw new Error('no assertion minted');
  return token;
}

describe('claims, verified through the served key set', () => {
  const cases = [
    { name: 'an mTLS workload', identity: workload(), sub: frontendPrincipal, extra: { authn: 'mtls', class: 'service' } },
    { name: 'a workload by token', identity: workload(undefined, 'build', 'jwt'), sub: frontendPrincipal, extra: { authn: 'jwt', class: 'build' } },
    { name: 'a user (no class)', identity: user, sub: 'alice@example.com', extra: { authn: 'jwt' } },
  ];
  test.each(cases)('$name', async ({ identity, sub, extra }) => {
    const token = await mint(signer(), allow(identity, 'orders.shop'), 'D-claims');
    const { payload, protectedHeader } = await server.verify(token, 'orders.shop', clock);
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: key.kid, typ: 'JWT' });
    expect(payload).toEqual({
      iss: issuer,
      sub,
      aud: 'orders.shop',
      iat: clock.seconds,
      exp: clock.seconds + ttlSeconds,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      decision_id: 'D-claims',
      ...extra,
    });
  });
});

test('an anonymous caller gets no assertion: there is no subject to assert', () => {
  expect(signer().mint(allow(anonymous, 'orders.shop'), 'D-anon', clock.seconds)).toBeUndefined();
});

test('another service cannot use the assertion: wrong audience fails', async () => {
  const token = await mint(signer(), allow(workload(), 'orders.shop'));
  await expect(server.verify(token, 'payments.shop', clock)).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'aud' });
});

test('an expired assertion fails', async () => {
  const token = await mint(signer());
  const later = new Date(clock.ms + ttlSeconds * 1000);
  await expect(server.verify(token, 'orders.shop', later)).rejects.toBeInstanceOf(errors.JWTExpired);
});

test('a key not in the served set does not verify', async () => {
  const stranger = new KeyRing(await signingKeyFromPem(privatePem(), 'other.pem'), { ttlSeconds, skewSeconds: 30 });
  const token = await mint(new AssertionSigner(stranger, { issuer, ttlSeconds, services: [] }));
  await expect(server.verify(token, 'orders.shop', clock)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
});

describe('per-service enablement', () => {
  const cases = [
    { name: 'empty list: every service', services: [], resource: 'catalog.shop', minted: true },
    { name: 'listed service', services: ['orders.shop'], resource: 'orders.shop', minted: true },
    { name: 'unlisted service', services: ['orders.shop'], resource: 'catalog.shop', minted: false },
    { name: 'no resource: never (an assertion without audience fits every upstream)', services: [], resource: '', minted: false },
  ];
  test.each(cases)('$name', async ({ services, resource, minted }) => {
    const token = await signer(services).mint(allow(workload(), resource), 'D1', clock.seconds);
    expect(token !== undefined).toBe(minted);
  });
});

describe('cache', () => {
  test('the same caller and service reuse the assertion while more than half the TTL remains', async () => {
    const minter = signer();
    const first = await mint(minter, allow(), 'D1');
    clock.advance(ttlSeconds / 2 - 1);
    const reused = await mint(minter, allow(), 'D2');
    expect(reused).toBe(first);
    expect(decodeJwt(reused).decision_id).toBe('D1');

    clock.advance(1);
    const fresh = await mint(minter, allow(), 'D3');
    expect(fresh).not.toBe(first);
    expect(decodeJwt(fresh)).toMatchObject({ decision_id: 'D3', iat: clock.seconds, exp: clock.seconds + ttlSeconds });
    expect(decodeJwt(fresh).jti).not.toBe(decodeJwt(first).jti);
    await expect(server.verify(fresh, 'orders.shop', clock)).resolves.toBeDefined();
  });

  const differing = [
    { name: 'another service', other: allow(workload(), 'catalog.shop') },
    { name: 'another principal', other: allow(workload('spiffe://cluster.local/ns/shop/sa/checkout')) },
    { name: 'another class', other: allow(workload(undefined, 'automation')) },
    { name: 'another authn method', other: allow(workload(undefined, 'service', 'jwt')) },
  ];
  test.each(differing)('$name gets its own assertion', async ({ other }) => {
    const minter = signer();
    const first = await mint(minter, allow());
    const second = await mint(minter, other);
    expect(second).not.toBe(first);
    expect(await mint(minter, allow())).toBe(first);
  });

  test('a new signing key gets a new assertion at once', async () => {
    const minter = signer();
    const first = await mint(minter);
    ring.rotate(await signingKeyFromPem(privatePem(), 'next.pem'), clock.seconds);
    const second = await mint(minter);
    expect(decodeProtectedHeader(second).kid).toBe(ring.signing.kid);
    expect(decodeProtectedHeader(first).kid).toBe(key.kid);
    await expect(server.verify(first, 'orders.shop', clock)).resolves.toBeDefined();
    await expect(server.verify(second, 'orders.shop', clock)).resolves.toBeDefined();
  });

  test('concurrent mints for the same caller sign once', async () => {
    const minter = signer();
    const tokens = await Promise.all(['A', 'B', 'C'].map((id) => mint(minter, allow(), id)));
    expect(new Set(tokens).size).toBe(1);
  });

  test('a clock stepped back before the cached iat signs anew', async () => {
    const minter = signer();
    const first = await mint(minter);
    clock.advance(-5);
    expect(await mint(minter)).not.toBe(first);
  });

  test('the cache is bounded: the least recently used entry is evicted', async () => {
    const minter = signer([], 2);
    const a = await mint(minter, allow(workload(), 'a.shop'));
    await mint(minter, allow(workload(), 'b.shop'));
    await mint(minter, allow(workload(), 'c.shop'));
    expect(await mint(minter, allow(workload(), 'a.shop'))).not.toBe(a);
  });

  test('with a TTL of 1 s every mint signs', async () => {
    const minter = new AssertionSigner(ring, { issuer, ttlSeconds: 1, services: [] });
    const first = await mint(minter);
    expect(await mint(minter)).not.toBe(first);
  });
});
