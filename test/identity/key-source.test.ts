import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { ErrorCode } from '../../src/errors.js';
import { discoveryOrigin, fileOrigin, uriOrigin, type JwksOrigin } from '../../src/identity/jwks-origin.js';
import { IssuerKeySource, type KeyLookup } from '../../src/identity/key-source.js';

let rsaPublic: JWK;
let rsaPrivate: JWK;
let ecPublic: JWK;

beforeAll(async () => {
  const rsa = await generateKeyPair('RS256', { extractable: true });
  rsaPublic = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
  rsaPrivate = { ...(await exportJWK(rsa.privateKey)), kid: 'rsa-private', alg: 'RS256' };
  const ec = await generateKeyPair('ES256');
  ecPublic = { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256' };
});

const sources: IssuerKeySource[] = [];
afterEach(() => {
  for (const source of sources.splice(0)) source.close();
});

function track(source: IssuerKeySource): IssuerKeySource {
  sources.push(source);
  return source;
}

/** An origin whose answers the test controls; counts fetches. */
class FakeOrigin implements JwksOrigin {
  fetches = 0;
  signals: AbortSignal[] = [];
  constructor(public answer: (signal: AbortSignal) => Promise<unknown>) {}
  fetch(signal: AbortSignal): Promise<unknown> {
    this.fetches += 1;
    this.signals.push(signal);
    return this.answer(signal);
  }
}

const jwks = (...keys: JWK[]) => () => Promise.resolve({ keys });
const failing = (message: string) => () => Promise.reject(new Error(message));
const never = (signal: AbortSignal) =>
  new Promise<unknown>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));

function codeOf(lookup: KeyLookup): string {
  return lookup.ok ? 'ok' : lookup.code;
}

describe('IssuerKeySource lookups', () => {
  const cases: { name: string; keys: () => JWK[]; kid: string | undefined; expected: string }[] = [
    { name: 'known kid', keys: () => [rsaPublic, ecPublic], kid: 'ec-1', expected: 'ok' },
    { name: 'no kid uses the set', keys: () => [rsaPublic], kid: undefined, expected: 'ok' },
    { name: 'unknown kid', keys: () => [rsaPublic], kid: 'other', expected: ErrorCode.unknownKey },
    { name: 'symmetric (oct) key is dropped', keys: () => [rsaPublic, { kty: 'oct', k: 'c2VjcmV0', kid: 'sym' }], kid: 'sym', expected: ErrorCode.unknownKey },
    { name: 'private key is dropped', keys: () => [rsaPublic, rsaPrivate], kid: 'rsa-private', expected: ErrorCode.unknownKey },
    { name: 'encryption key is dropped', keys: () => [rsaPublic, { ...ecPublic, kid: 'enc', use: 'enc' }], kid: 'enc', expected: ErrorCode.unknownKey },
    { name: 'a set of only unusable keys is refused', keys: () => [{ kty: 'oct', k: 'c2VjcmV0', kid: 'sym' }], kid: 'sym', expected: ErrorCode.keysUnavailable },
  ];

  test.each(cases)('$name', async ({ keys, kid, expected }) => {
    const source = track(new IssuerKeySource('iss', new FakeOrigin(jwks(...keys()))));
    await source.refresh();
    expect(codeOf(await source.keysFor(kid, 100))).toBe(expected);
  });

  test.each([
    { name: 'not an object', doc: 'nope', detail: 'no "keys" array' },
    { name: 'keys not an array', doc: { keys: {} }, detail: 'no "keys" array' },
    { name: 'empty set', doc: { keys: [] }, detail: 'no usable public signing keys' },
  ])('invalid document ($name) is a fetch failure', async ({ doc, detail }) => {
    const source = track(new IssuerKeySource('iss', new FakeOrigin(() => Promise.resolve(doc))));
    const lookup = await source.keysFor('rsa-1', 100);
    expect(lookup).toEqual({ ok: false, code: ErrorCode.keysUnavailable, detail: expect.stringContaining(detail) });
  });
});

describe('IssuerKeySource fetch policy', () => {
  test('concurrent lookups share one fetch', async () => {
    let release: (v: unknown) => void = () => undefined;
    const origin = new FakeOrigin(() => new Promise((resolve) => (release = resolve)));
    const source = track(new IssuerKeySource('iss', origin));
    const lookups = Array.from({ length: 5 }, () => source.keysFor('rsa-1', 1000));
    release({ keys: [rsaPublic] });
    expect((await Promise.all(lookups)).map(codeOf)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(origin.fetches).toBe(1);
  });

  test('unknown kids refetch at most once per interval', async () => {
    let now = 0;
    const origin = new FakeOrigin(jwks(rsaPublic));
    const source = track(new IssuerKeySource('iss', origin, { minRefetchIntervalMs: 10_000, clock: () => now }));
    await source.refresh();
    expect(codeOf(await source.keysFor('a', 100))).toBe(ErrorCode.unknownKey);
    expect(codeOf(await source.keysFor('b', 100))).toBe(ErrorCode.unknownKey);
    now = 9_999;
    expect(codeOf(await source.keysFor('c', 100))).toBe(ErrorCode.unknownKey);
    expect(origin.fetches).toBe(2);
    now = 10_000;
    origin.answer = jwks(rsaPublic, { ...ecPublic, kid: 'd' });
    expect(codeOf(await source.keysFor('d', 100))).toBe('ok');
    expect(origin.fetches).toBe(3);
  });

  test('the last good set keeps verifying when the origin fails', async () => {
    const errorsSeen: string[] = [];
    const origin = new FakeOrigin(jwks(rsaPublic));
    const source = track(new IssuerKeySource('iss', origin, { onFetchError: (issuer, message) => errorsSeen.push(`${issuer}: ${message}`) }));
    await source.refresh();
    origin.answer = failing('HTTP 503');
    await source.refresh();
    expect(codeOf(await source.keysFor('rsa-1', 100))).toBe('ok');
    expect(errorsSeen).toEqual(['iss: HTTP 503']);
    const unknown = await source.keysFor('new', 100);
    expect(unknown).toEqual({ ok: false, code: ErrorCode.keysUnavailable, detail: expect.stringContaining('HTTP 503') });
  });

  test('a lookup waits no longer than its bound; the fetch fills the cache later', async () => {
    let release: (v: unknown) => void = () => undefined;
    const origin = new FakeOrigin(() => new Promise((resolve) => (release = resolve)));
    const source = track(new IssuerKeySource('iss', origin));
    const started = performance.now();
    const lookup = await source.keysFor('rsa-1', 50);
    expect(performance.now() - started).toBeLessThan(50 + 250);
    expect(codeOf(lookup)).toBe(ErrorCode.keysUnavailable);
    release({ keys: [rsaPublic] });
    await source.refresh();
    expect(codeOf(await source.keysFor('rsa-1', 0))).toBe('ok');
    expect(origin.fetches).toBe(1);
  });

  test('a fetch that never answers is abandoned after fetchTimeoutMs', async () => {
    const errorsSeen: string[] = [];
    const origin = new FakeOrigin(never);
    const source = track(new IssuerKeySource('iss', origin, { fetchTimeoutMs: 50, onFetchError: (_, m) => errorsSeen.push(m) }));
    await source.refresh();
    expect(errorsSeen).toEqual(['fetch timed out or was cancelled']);
  });

  test('close abandons a fetch in flight and stops refreshing', async () => {
    const origin = new FakeOrigin(never);
    const source = new IssuerKeySource('iss', origin);
    source.start();
    source.close();
    expect(origin.signals[0]?.aborted).toBe(true);
    await source.refresh();
    expect(origin.fetches).toBe(1);
  });

  test('start refreshes periodically', async () => {
    const origin = new FakeOrigin(jwks(rsaPublic));
    const source = track(new IssuerKeySource('iss', origin, { refreshIntervalMs: 20 }));
    source.start();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(origin.fetches).toBeGreaterThanOrEqual(3);
  });
});

describe('origins', () => {
  let server: Server;
  let base: string;
  let routes: Map<string, (res: ServerResponse) => void>;
  const requested: string[] = [];

  const json = (body: unknown, status = 200) => (res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body));
  };

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      requested.push(req.url ?? '');
      (routes.get(req.url ?? '') ?? json({ error: 'not found' }, 404))(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    routes = new Map();
    requested.length = 0;
  });

  async function lookupVia(origin: JwksOrigin, kid = 'rsa-1'): Promise<KeyLookup> {
    return track(new IssuerKeySource('iss', origin)).keysFor(kid, 2000);
  }

  test('jwks_uri', async () => {
    routes.set('/jwks', json({ keys: [rsaPublic] }));
    expect(codeOf(await lookupVia(uriOrigin(`${base}/jwks`, 1024 * 1024)))).toBe('ok');
  });

  test.each([
    { name: 'HTTP error', route: json('gone', 404), detail: 'jwks_uri answered HTTP 404' },
    { name: 'not JSON', route: json('{not json'), detail: 'jwks_uri is not valid JSON' },
    { name: 'too large', route: json({ keys: [rsaPublic], pad: 'x'.repeat(5000) }), detail: 'jwks_uri is larger than 4096 bytes' },
  ])('jwks_uri failure: $name', async ({ route, detail }) => {
    routes.set('/jwks', route);
    const lookup = await lookupVia(uriOrigin(`${base}/jwks`, 4096));
    expect(lookup).toEqual({ ok: false, code: ErrorCode.keysUnavailable, detail: `no key set loaded: ${detail}` });
  });

  test('discovery follows jwks_uri when the document names the configured issuer', async () => {
    const issuer = `${base}/tenant`;
    routes.set('/tenant/.well-known/openid-configuration', json({ issuer, jwks_uri: `${base}/tenant/keys` }));
    routes.set('/tenant/keys', json({ keys: [rsaPublic] }));
    expect(codeOf(await lookupVia(discoveryOrigin(issuer, 1024 * 1024)))).toBe('ok');
    expect(codeOf(await lookupVia(discoveryOrigin(`${issuer}/`, 1024 * 1024)))).toBe(ErrorCode.keysUnavailable);
  });

  test.each([
    { name: 'another issuer', doc: (b: string) => ({ issuer: 'https://evil.example', jwks_uri: `${b}/tenant/keys` }), detail: 'names issuer "https://evil.example"' },
    { name: 'no jwks_uri', doc: (b: string) => ({ issuer: `${b}/tenant` }), detail: 'no http(s) jwks_uri' },
    { name: 'non-http jwks_uri', doc: (b: string) => ({ issuer: `${b}/tenant`, jwks_uri: 'file:///etc/passwd' }), detail: 'no http(s) jwks_uri' },
    { name: 'not an object', doc: () => [], detail: 'not a JSON object' },
  ])('discovery refuses a document with $name', async ({ doc, detail }) => {
    routes.set('/tenant/.well-known/openid-configuration', json(doc(base)));
    routes.set('/tenant/keys', json({ keys: [rsaPublic] }));
    const lookup = await lookupVia(discoveryOrigin(`${base}/tenant`, 1024 * 1024));
    expect(lookup).toEqual({ ok: false, code: ErrorCode.keysUnavailable, detail: expect.stringContaining(detail) });
    expect(requested).not.toContain('/tenant/keys');
  });

  describe('jwksFile', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-jwks-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    test('is read, and re-read when it changes', async () => {
      const file = join(dir, 'jwks.json');
      writeFileSync(file, JSON.stringify({ keys: [rsaPublic] }));
      const source = track(new IssuerKeySource('iss', fileOrigin(file, 1024 * 1024, 20)));
      source.start();
      expect(codeOf(await source.keysFor('rsa-1', 1000))).toBe('ok');
      // Spends the on-demand refetch, so only the file watch can bring the new key in.
      expect(codeOf(await source.keysFor('spent', 1000))).toBe(ErrorCode.unknownKey);
      writeFileSync(file, JSON.stringify({ keys: [rsaPublic, ecPublic, { kty: 'oct', k: 'AA' }] }));
      const deadline = performance.now() + 3000;
      let lookup = await source.keysFor('ec-1', 0);
      while (!lookup.ok && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        lookup = await source.keysFor('ec-1', 0);
      }
      expect(codeOf(lookup)).toBe('ok');
    });

    // Issue #14: the token cache re-checks tokens verified under an older generation.
    test('the generation changes when a refresh changes the set, and only then', async () => {
      const file = join(dir, 'jwks.json');
      writeFileSync(file, JSON.stringify({ keys: [rsaPublic, ecPublic] }));
      const source = track(new IssuerKeySource('iss', fileOrigin(file, 1024 * 1024, 60_000)));
      await source.refresh();
      const first = source.generation();
      expect(await source.keysFor('rsa-1', 0)).toMatchObject({ ok: true, generation: first });
      await source.refresh();
      expect(source.generation()).toBe(first);
      writeFileSync(file, JSON.stringify({ keys: [ecPublic] }));
      await source.refresh();
      expect(source.generation()).toBe(first + 1);
      writeFileSync(file, 'not JSON');
      await source.refresh();
      expect(source.generation()).toBe(first + 1);
    });

    test.each([
      { name: 'missing', content: undefined, detail: 'ENOENT' },
      { name: 'not JSON', content: 'nope', detail: 'jwksFile is not valid JSON' },
      { name: 'too large', content: 'x'.repeat(200), detail: 'jwksFile is larger than 100 bytes' },
    ])('failure: $name', async ({ content, detail }) => {
      const file = join(dir, 'jwks.json');
      if (content !== undefined) writeFileSync(file, content);
      const lookup = await lookupVia(fileOrigin(file, 100, 1000));
      expect(lookup).toEqual({ ok: false, code: ErrorCode.keysUnavailable, detail: expect.stringContaining(detail) });
    });
  });
});
