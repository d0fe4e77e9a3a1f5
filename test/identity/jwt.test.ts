import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { base64url, exportJWK, FlattenedSign, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTHeaderParameters } from 'jose';
import { parseConfig, type Config, type JwtIssuerConfig } from '../../src/config.js';
import type { AuthnResult, Identity } from '../../src/core/identity.js';
import { ErrorCode } from '../../src/errors.js';
import { TokenVerifier } from '../../src/identity/token-verifier.js';
import { keySourceFor, type IssuerKeySource, type KeyLookup, type KeySource } from '../../src/identity/key-source.js';
import { spiffeId } from '../support/expect-ok.js';

const NOW = 1_800_000_000;
const FETCH_BOUND_MS = 300;
const MARGIN_MS = 400;
const K8S = 'https://kubernetes.default.svc.cluster.local';
const OIDC = 'https://login.example.com';

interface SigningKey {
  readonly alg: string;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly jwk: JWK;
}

async function signingKey(alg: 'RS256' | 'ES256' | 'EdDSA', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { alg, kid, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

type Claims = Record<string, unknown>;

/** Signs with `key`; `header` adds parameters, and a parameter set to undefined is left out. */
async function sign(key: SigningKey, claims: Claims, header: Partial<JWTHeaderParameters> = {}): Promise<string> {
  const protectedHeader = Object.fromEntries(
    Object.entries({ alg: key.alg, kid: key.kid, ...header }).filter(([, value]) => value !== undefined),
  ) as JWTHeaderParameters;
  return new SignJWT(claims).setProtectedHeader(protectedHeader).sign(key.privateKey);
}

/**
 * Signs claims with header parameters SignJWT refuses to produce. With `b64: false` the payload
 * segment is the claims' base64url text itself, signed unencoded, so it looks like a normal JWT.
 */
async function signRaw(key: SigningKey, header: Record<string, unknown>, claims: Claims, crit?: Record<string, boolean>): Promise<string> {
  const unencoded = header['b64'] === false;
  const segment = encodeJson(claims);
  const payload = unencoded ? segment : JSON.stringify(claims);
  const jws = await new FlattenedSign(new TextEncoder().encode(payload))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey, crit === undefined ? undefined : { crit });
  return `${jws.protected}.${unencoded ? segment : jws.payload}.${jws.signature}`;
}

function encodeJson(value: unknown): string {
  return base64url.encode(JSON.stringify(value));
}

function without(claims: Claims, ...names: string[]): Claims {
  return Object.fromEntries(Object.entries(claims).filter(([name]) => !names.includes(name)));
}

/** A key server the test controls: each path answers with a body, a status, a delay, or a dropped connection. */
type Route = { readonly body: unknown; readonly delayMs?: number } | { readonly status: number } | 'drop';

class TestServer {
  readonly requests: string[] = [];
  readonly routes = new Map<string, Route>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #server: Server = createServer((req, res) => this.#answer(req.url ?? '', res));
  url = '';

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  count(path: string): number {
    return this.requests.filter((requested) => requested === path).length;
  }

  /**
   * Forgets routes, requests and delayed answers. Idle connections stay open: closing them here
   * would race the next test's first fetch onto a socket the client still thinks is alive.
   */
  reset(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.routes.clear();
    this.requests.length = 0;
  }

  async stop(): Promise<void> {
    this.reset();
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #answer(path: string, res: ServerResponse): void {
    this.requests.push(path);
    const route = this.routes.get(path);
    if (route === undefined) {
      res.writeHead(404).end();
    } else if (route === 'drop') {
      res.socket?.destroy();
    } else if ('status' in route) {
      res.writeHead(route.status).end();
    } else {
      const send = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(route.body));
      if (route.delayMs === undefined) send();
      else {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          send();
        }, route.delayMs);
        this.#timers.add(timer);
      }
    }
  }
}

let keys: TestServer;
let attacker: TestServer;
let jwksDir: string;
let config: Config;
let spiffeIssuer: string;
let k8sKey: SigningKey;
let k8sNextKey: SigningKey;
let svidKey: SigningKey;
let oidcKey: SigningKey;
let oidcSecondKey: SigningKey;
let attackerRsa: SigningKey;
let attackerEc: SigningKey;
let attackerEd: SigningKey;

beforeAll(async () => {
  [k8sKey, k8sNextKey, svidKey, oidcKey, oidcSecondKey, attackerRsa, attackerEc, attackerEd] = await Promise.all([
    signingKey('RS256', 'k8s-1'),
    signingKey('RS256', 'k8s-2'),
    signingKey('ES256', 'svid-1'),
    signingKey('EdDSA', 'oidc-1'),
    signingKey('EdDSA', 'oidc-2'),
    signingKey('RS256', 'attacker-1'),
    signingKey('ES256', 'svid-1'),
    signingKey('EdDSA', 'oidc-1'),
  ]);
  keys = await new TestServer().start();
  attacker = await new TestServer().start();
  spiffeIssuer = `${keys.url}/spiffe`;
  jwksDir = mkdtempSync(join(tmpdir(), 'gatehouse-jwt-'));
  const jwksFile = join(jwksDir, 'oidc.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [oidcKey.jwk, oidcSecondKey.jwk] }));
  config = parseConfig({
    identity: {
      trustDomains: ['cluster.local', 'partner.example'],
      jwt: [
        { issuer: K8S, kind: 'kubernetes', audiences: ['gatehouse'], jwksUri: `${keys.url}/k8s/jwks`, maxLifetimeSeconds: 3600, trustDomain: 'cluster.local' },
        { issuer: spiffeIssuer, kind: 'spiffe', audiences: ['gatehouse'], discovery: true, algorithms: ['ES256'], trustDomain: 'partner.example' },
        { issuer: OIDC, kind: 'oidc', audiences: ['gatehouse', 'portal'], jwksFile },
      ],
    },
  });
});

afterAll(async () => {
  await keys.stop();
  await attacker.stop();
  rmSync(jwksDir, { recursive: true, force: true });
});

function serveKeys(k8s: Route = { body: { keys: [k8sKey.jwk] } }): void {
  keys.routes.set('/k8s/jwks', k8s);
  keys.routes.set('/spiffe/.well-known/openid-configuration', { body: { issuer: spiffeIssuer, jwks_uri: `${spiffeIssuer}/jwks` } });
  keys.routes.set('/spiffe/jwks', { body: { keys: [svidKey.jwk] } });
  attacker.routes.set('/jwks.json', { body: { keys: [attackerRsa.jwk] } });
}

let sources: Map<string, IssuerKeySource>;

function keySources(issuers: readonly JwtIssuerConfig[]): Map<string, IssuerKeySource> {
  return new Map(issuers.map((issuer) => [issuer.issuer, keySourceFor(issuer)]));
}

beforeEach(() => serveKeys());
afterEach(() => {
  for (const source of sources?.values() ?? []) source.close();
  keys.reset();
  attacker.reset();
});

function verifier(wrap: (source: KeySource) => KeySource = (source) => source): TokenVerifier {
  sources = keySources(config.identity.jwt);
  const wrapped = new Map([...sources].map(([issuer, source]) => [issuer, wrap(source)]));
  return new TokenVerifier(
    config.identity.jwt,
    config.identity.trustDomains,
    { maxTokenBytes: config.limits.maxTokenBytes, keyFetchTimeoutMs: FETCH_BOUND_MS },
    wrapped,
  );
}

/** Starts the sources as gatehouse does at boot, and waits for the first key sets. */
async function started(tokens: TokenVerifier): Promise<TokenVerifier> {
  for (const source of sources.values()) source.start();
  await Promise.all([...sources.values()].map((source) => source.refresh()));
  return tokens;
}

const k8sClaims = (): Claims => ({
  iss: K8S,
  sub: 'system:serviceaccount:shop:frontend',
  aud: ['gatehouse'],
  iat: NOW - 10,
  nbf: NOW - 10,
  exp: NOW + 600,
  'kubernetes.io': {
    namespace: 'shop',
    serviceaccount: { name: 'frontend', uid: 'sa-uid' },
    pod: { name: 'frontend-7d9f', uid: 'pod-uid' },
  },
});
const svidClaims = (): Claims => ({ iss: spiffeIssuer, sub: 'spiffe://partner.example/billing/api', aud: 'gatehouse', iat: NOW, exp: NOW + 300 });
const oidcClaims = (): Claims => ({ iss: OIDC, sub: 'alice', aud: 'portal', iat: NOW, exp: NOW + 900, groups: ['admins', 'devs'] });


const frontend = (): Identity => ({
  kind: 'workload',
  spiffeId: spiffeId('spiffe://cluster.local/ns/shop/sa/frontend'),
  class: 'unknown',
  authn: 'jwt',
  issuer: K8S,
  kubernetes: { namespace: 'shop', serviceAccountName: 'frontend', serviceAccountUid: 'sa-uid', podName: 'frontend-7d9f', podUid: 'pod-uid' },
  expiresAt: NOW + 600,
});

function refused(code: ErrorCode): AuthnResult {
  return { ok: false, code, detail: expect.any(String), authn: 'jwt' };
}

/** A refusal never repeats the token, and its detail is short and printable. */
function expectSafeDetail(result: AuthnResult, token: string): void {
  if (result.ok) return;
  const [header = '', payload = '', signature = ''] = token.split('.');
  for (const part of [header, payload, signature]) if (part.length >= 8) expect(result.detail).not.toContain(part);
  // eslint-disable-next-line no-control-regex
  expect(result.detail).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  expect(result.detail.length).toBeLessThan(300);
}

interface Case {
  readonly name: string;
  readonly token: () => Promise<string>;
  readonly expected: () => AuthnResult;
  readonly now?: number;
}

const cases: Case[] = [
  // accepted
  { name: 'valid kubernetes token → the service account workload', token: () => sign(k8sKey, k8sClaims()), expected: () => ({ ok: true, identity: frontend() }) },
  {
    name: 'kubernetes token not bound to a pod',
    token: () => sign(k8sKey, { ...k8sClaims(), 'kubernetes.io': { namespace: 'shop', serviceaccount: { name: 'frontend', uid: 'sa-uid' } } }),
    expected: () => {
      const { podName: _n, podUid: _u, ...kubernetes } = (frontend() as Extract<Identity, { kind: 'workload' }>).kubernetes!;
      return { ok: true, identity: { ...frontend(), kubernetes } as Identity };
    },
  },
  {
    name: 'valid JWT-SVID (ES256, keys by OIDC discovery)',
    token: () => sign(svidKey, svidClaims()),
    expected: () => ({
      ok: true,
      identity: { kind: 'workload', spiffeId: spiffeId('spiffe://partner.example/billing/api'), class: 'unknown', authn: 'jwt', issuer: spiffeIssuer, expiresAt: NOW + 300 },
    }),
  },
  {
    name: 'valid OIDC user with groups (EdDSA, keys from a file)',
    token: () => sign(oidcKey, oidcClaims()),
    expected: () => ({ ok: true, identity: { kind: 'user', issuer: OIDC, subject: 'alice', name: 'alice', groups: ['admins', 'devs'], expiresAt: NOW + 900 } }),
  },
  {
    name: 'OIDC user without groups has none',
    token: () => sign(oidcKey, without(oidcClaims(), 'groups')),
    expected: () => ({ ok: true, identity: { kind: 'user', issuer: OIDC, subject: 'alice', name: 'alice', groups: [], expiresAt: NOW + 900 } }),
  },
  {
    name: 'token without kid verifies when one of several keys signed it',
    token: () => sign(oidcSecondKey, oidcClaims(), { kid: undefined }),
    expected: () => ({ ok: true, identity: { kind: 'user', issuer: OIDC, subject: 'alice', name: 'alice', groups: ['admins', 'devs'], expiresAt: NOW + 900 } }),
  },
  { name: 'expired, but within clock skew', token: () => sign(k8sKey, k8sClaims()), now: NOW + 600 + 29, expected: () => ({ ok: true, identity: frontend() }) },
  { name: 'not yet valid, but within clock skew', token: () => sign(k8sKey, k8sClaims()), now: NOW - 10 - 30, expected: () => ({ ok: true, identity: frontend() }) },
  { name: 'no iat and a short exp', token: () => sign(k8sKey, without(k8sClaims(), 'iat')), expected: () => ({ ok: true, identity: frontend() }) },

  // algorithms and keys: the token never chooses what verifies it
  {
    name: 'alg none (unsigned)',
    token: async () => `${encodeJson({ alg: 'none', typ: 'JWT' })}.${encodeJson(k8sClaims())}.`,
    expected: () => refused(ErrorCode.algorithmNotAllowed),
  },
  {
    name: "HS256 keyed with the issuer's public key",
    token: async () =>
      new SignJWT(k8sClaims()).setProtectedHeader({ alg: 'HS256', kid: 'k8s-1' }).sign(new TextEncoder().encode(await exportSPKI(k8sKey.publicKey))),
    expected: () => refused(ErrorCode.algorithmNotAllowed),
  },
  {
    name: "HS256 keyed with the issuer's public JWK",
    token: async () => new SignJWT(k8sClaims()).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(JSON.stringify(k8sKey.jwk))),
    expected: () => refused(ErrorCode.algorithmNotAllowed),
  },
  {
    name: "algorithm allowed elsewhere but not in this issuer's list",
    token: () => sign(k8sKey, { ...svidClaims() }),
    expected: () => refused(ErrorCode.algorithmNotAllowed),
  },
  {
    name: 'attacker key embedded in the jwk header, with the real kid',
    token: () => sign(attackerRsa, k8sClaims(), { kid: 'k8s-1', jwk: attackerRsa.jwk }),
    expected: () => refused(ErrorCode.signatureInvalid),
  },
  {
    name: 'attacker key embedded in the jwk header, without kid',
    token: () => sign(attackerRsa, k8sClaims(), { kid: undefined, jwk: attackerRsa.jwk }),
    expected: () => refused(ErrorCode.signatureInvalid),
  },
  {
    name: 'attacker key whose kid matches the JWT-SVID key',
    token: () => sign(attackerEc, svidClaims()),
    expected: () => refused(ErrorCode.signatureInvalid),
  },
  {
    name: 'no kid, and none of several keys signed it',
    token: () => sign(attackerEd, oidcClaims(), { kid: undefined }),
    expected: () => refused(ErrorCode.signatureInvalid),
  },
  {
    name: 'payload swapped under a valid signature',
    token: async () => {
      const [header, , signature] = (await sign(k8sKey, k8sClaims())).split('.');
      return `${header}.${encodeJson({ ...k8sClaims(), sub: 'system:serviceaccount:shop:admin' })}.${signature}`;
    },
    expected: () => refused(ErrorCode.signatureInvalid),
  },
  {
    name: "the kubernetes key presented for the OIDC issuer (kid not in that issuer's set)",
    token: () => sign(k8sKey, { ...oidcClaims() }),
    expected: () => refused(ErrorCode.unknownKey),
  },

  // issuer
  { name: 'unconfigured issuer', token: () => sign(k8sKey, { ...k8sClaims(), iss: 'https://evil.example' }), expected: () => refused(ErrorCode.unknownIssuer) },
  { name: 'no iss', token: () => sign(k8sKey, without(k8sClaims(), 'iss')), expected: () => refused(ErrorCode.unknownIssuer) },
  { name: 'issuer differing only by a trailing slash', token: () => sign(k8sKey, { ...k8sClaims(), iss: `${K8S}/` }), expected: () => refused(ErrorCode.unknownIssuer) },
  {
    name: 'iss with control characters and great length (detail stays short and printable)',
    token: () => sign(k8sKey, { ...k8sClaims(), iss: `https://evil\u0000\u001b[31m\n${'x'.repeat(500)}` }),
    expected: () => refused(ErrorCode.unknownIssuer),
  },

  // audience and time
  { name: 'wrong aud', token: () => sign(k8sKey, { ...k8sClaims(), aud: ['kubernetes'] }), expected: () => refused(ErrorCode.audienceMismatch) },
  { name: 'no aud', token: () => sign(k8sKey, without(k8sClaims(), 'aud')), expected: () => refused(ErrorCode.audienceMismatch) },
  { name: 'aud of the wrong type', token: () => sign(k8sKey, { ...k8sClaims(), aud: 42 }), expected: () => refused(ErrorCode.badClaims) },
  { name: 'expired', token: () => sign(k8sKey, k8sClaims()), now: NOW + 600 + 30, expected: () => refused(ErrorCode.tokenExpired) },
  { name: 'not yet valid', token: () => sign(k8sKey, { ...k8sClaims(), nbf: NOW + 31 }), expected: () => refused(ErrorCode.tokenNotYetValid) },
  { name: 'no exp', token: () => sign(k8sKey, without(k8sClaims(), 'exp')), expected: () => refused(ErrorCode.missingExpiry) },
  { name: 'exp not a number', token: () => sign(k8sKey, { ...k8sClaims(), exp: String(NOW + 600) }), expected: () => refused(ErrorCode.badClaims) },
  { name: 'iat not a number', token: () => sign(k8sKey, { ...k8sClaims(), iat: 'yesterday' }), expected: () => refused(ErrorCode.badClaims) },
  {
    name: 'lifetime over the maximum',
    token: () => sign(k8sKey, { ...k8sClaims(), iat: NOW - 10, exp: NOW + 3600 }),
    expected: () => refused(ErrorCode.lifetimeTooLong),
  },
  {
    name: 'no iat and an exp too far away',
    token: () => sign(k8sKey, { ...without(k8sClaims(), 'iat'), exp: NOW + 2 * 3600 }),
    expected: () => refused(ErrorCode.lifetimeTooLong),
  },
  {
    name: 'iat in the future to shorten the apparent lifetime',
    token: () => sign(k8sKey, { ...without(k8sClaims(), 'nbf'), iat: NOW + 86_400, exp: NOW + 86_400 + 600 }),
    expected: () => refused(ErrorCode.lifetimeTooLong),
  },

  // subjects
  {
    name: 'kubernetes sub and kubernetes.io claim name different namespaces',
    token: () => sign(k8sKey, { ...k8sClaims(), 'kubernetes.io': { namespace: 'other', serviceaccount: { name: 'frontend', uid: 'sa-uid' } } }),
    expected: () => refused(ErrorCode.badClaims),
  },
  {
    name: 'kubernetes sub and kubernetes.io claim name different service accounts',
    token: () => sign(k8sKey, { ...k8sClaims(), sub: 'system:serviceaccount:shop:admin' }),
    expected: () => refused(ErrorCode.badClaims),
  },
  { name: 'kubernetes token without the kubernetes.io claim', token: () => sign(k8sKey, without(k8sClaims(), 'kubernetes.io')), expected: () => refused(ErrorCode.badClaims) },
  { name: 'kubernetes sub that is not a service account', token: () => sign(k8sKey, { ...k8sClaims(), sub: 'system:node:worker-1' }), expected: () => refused(ErrorCode.badClaims) },
  {
    name: 'kubernetes service account uid missing',
    token: () => sign(k8sKey, { ...k8sClaims(), 'kubernetes.io': { namespace: 'shop', serviceaccount: { name: 'frontend' } } }),
    expected: () => refused(ErrorCode.badClaims),
  },
  {
    name: 'kubernetes pod binding without uid',
    token: () => sign(k8sKey, { ...k8sClaims(), 'kubernetes.io': { namespace: 'shop', serviceaccount: { name: 'frontend', uid: 'u' }, pod: { name: 'p' } } }),
    expected: () => refused(ErrorCode.badClaims),
  },
  { name: 'no sub', token: () => sign(k8sKey, without(k8sClaims(), 'sub')), expected: () => refused(ErrorCode.badClaims) },
  {
    name: 'JWT-SVID in a foreign trust domain',
    token: () => sign(svidKey, { ...svidClaims(), sub: 'spiffe://evil.example/ns/shop/sa/frontend' }),
    expected: () => refused(ErrorCode.untrustedTrustDomain),
  },
  { name: 'JWT-SVID sub that is not a SPIFFE ID', token: () => sign(svidKey, { ...svidClaims(), sub: 'frontend' }), expected: () => refused(ErrorCode.malformedSpiffeId) },
  // Regression: an issuer could mint identities in any configured trust domain, not just its own.
  {
    name: "JWT-SVID for a workload of another configured trust domain than the issuer's",
    token: () => sign(svidKey, { ...svidClaims(), sub: 'spiffe://cluster.local/ns/shop/sa/frontend' }),
    expected: () => refused(ErrorCode.untrustedTrustDomain),
  },
  // Issue #14: the scheme is lower case in a token's sub as in a certificate.
  { name: 'JWT-SVID sub with an upper-case scheme', token: () => sign(svidKey, { ...svidClaims(), sub: 'SPIFFE://partner.example/ns/shop/sa/frontend' }), expected: () => refused(ErrorCode.malformedSpiffeId) },
  { name: 'JWT-SVID naming a trust domain only', token: () => sign(svidKey, { ...svidClaims(), sub: 'spiffe://partner.example' }), expected: () => refused(ErrorCode.badClaims) },
  { name: 'OIDC groups not an array', token: () => sign(oidcKey, { ...oidcClaims(), groups: 'admins' }), expected: () => refused(ErrorCode.badClaims) },
  { name: 'OIDC groups with a non-string', token: () => sign(oidcKey, { ...oidcClaims(), groups: ['admins', 7] }), expected: () => refused(ErrorCode.badClaims) },

  // shape
  { name: 'oversize token', token: () => sign(k8sKey, { ...k8sClaims(), pad: 'x'.repeat(16 * 1024) }), expected: () => refused(ErrorCode.tokenTooLarge) },
  { name: 'empty', token: async () => '', expected: () => refused(ErrorCode.malformedCredential) },
  { name: 'one part', token: async () => 'abc', expected: () => refused(ErrorCode.malformedCredential) },
  { name: 'two parts', token: async () => 'abc.def', expected: () => refused(ErrorCode.malformedCredential) },
  { name: 'four parts', token: async () => `${await sign(k8sKey, k8sClaims())}.abc`, expected: () => refused(ErrorCode.malformedCredential) },
  { name: 'not base64url', token: async () => 'a+b.c/d.e=f', expected: () => refused(ErrorCode.malformedCredential) },
  {
    name: 'header not JSON',
    token: async () => `${base64url.encode('{"alg":"RS256"')}.${encodeJson(k8sClaims())}.c2ln`,
    expected: () => refused(ErrorCode.malformedCredential),
  },
  { name: 'header a JSON array', token: async () => `${encodeJson(['RS256'])}.${encodeJson(k8sClaims())}.c2ln`, expected: () => refused(ErrorCode.malformedCredential) },
  { name: 'payload not JSON', token: async () => `${encodeJson({ alg: 'RS256' })}.${base64url.encode('secret-ish')}.c2ln`, expected: () => refused(ErrorCode.malformedCredential) },
  { name: 'header without alg', token: async () => `${encodeJson({ kid: 'k8s-1' })}.${encodeJson(k8sClaims())}.c2ln`, expected: () => refused(ErrorCode.malformedCredential) },
  { name: 'kid not a string', token: () => sign(k8sKey, k8sClaims(), { kid: 7 as unknown as string }), expected: () => refused(ErrorCode.malformedCredential) },
  {
    name: 'unencoded payload (b64: false) that looks like an encoded one',
    token: () => signRaw(k8sKey, { b64: false, crit: ['b64'] }, k8sClaims()),
    expected: () => refused(ErrorCode.malformedCredential),
  },
  {
    name: 'unknown critical header',
    token: () => signRaw(k8sKey, { crit: ['x-must-understand'], 'x-must-understand': true }, k8sClaims(), { 'x-must-understand': true }),
    expected: () => refused(ErrorCode.malformedCredential),
  },
];

describe('TokenVerifier.verify', () => {
  test.each(cases)('$name', async ({ token, expected, now }) => {
    const presented = await token();
    const result = await verifier().verify(presented, now ?? NOW);
    expect(result).toEqual(expected());
    expectSafeDetail(result, presented);
  });
});

describe('keys come only from the configured origin', () => {
  test('a jku or x5u header is never fetched', async () => {
    const tokens = verifier();
    const token = await sign(attackerRsa, k8sClaims(), { jku: `${attacker.url}/jwks.json`, x5u: `${attacker.url}/cert.pem` });
    expect(await tokens.verify(token, NOW)).toEqual(refused(ErrorCode.unknownKey));
    const withRealKid = await sign(attackerRsa, k8sClaims(), { kid: 'k8s-1', jku: `${attacker.url}/jwks.json` });
    expect(await tokens.verify(withRealKid, NOW)).toEqual(refused(ErrorCode.signatureInvalid));
    expect(attacker.requests).toEqual([]);
    expect(keys.count('/k8s/jwks')).toBeGreaterThanOrEqual(1);
  });
});

describe('key rotation and outages', () => {
  test('an unknown kid refetches, and the rotated key then verifies', async () => {
    const tokens = await started(verifier());
    expect(await tokens.verify(await sign(k8sKey, k8sClaims()), NOW)).toEqual({ ok: true, identity: frontend() });
    keys.routes.set('/k8s/jwks', { body: { keys: [k8sNextKey.jwk] } });
    expect(await tokens.verify(await sign(k8sNextKey, k8sClaims()), NOW)).toEqual({ ok: true, identity: frontend() });
    expect(keys.count('/k8s/jwks')).toBe(2);
  });

  test('unknown kids refetch at most once per interval', async () => {
    const tokens = await started(verifier());
    for (const kid of ['made-up-1', 'made-up-2', 'made-up-3']) {
      expect(await tokens.verify(await sign(attackerRsa, k8sClaims(), { kid }), NOW)).toEqual(refused(ErrorCode.unknownKey));
    }
    expect(keys.count('/k8s/jwks')).toBe(2);
  });

  test.each<{ name: string; outage: () => Route }>([
    { name: 'answers 503', outage: () => ({ status: 503 }) },
    { name: 'drops the connection', outage: () => 'drop' },
    { name: 'answers after 5 s', outage: () => ({ body: { keys: [k8sKey.jwk, k8sNextKey.jwk] }, delayMs: 5000 }) },
  ])('key endpoint $name: cached keys verify; an unknown kid is refused within the bound', async ({ outage }) => {
    const tokens = await started(verifier());
    keys.routes.set('/k8s/jwks', outage());
    expect(await tokens.verify(await sign(k8sKey, k8sClaims()), NOW)).toEqual({ ok: true, identity: frontend() });
    const rotated = await sign(k8sNextKey, k8sClaims());
    const began = performance.now();
    expect(await tokens.verify(rotated, NOW)).toEqual(refused(ErrorCode.keysUnavailable));
    expect(performance.now() - began).toBeLessThan(FETCH_BOUND_MS + MARGIN_MS);
  });

  test('with no keys yet and an endpoint that answers after 5 s, a Check is answered within the bound', async () => {
    keys.routes.set('/k8s/jwks', { body: { keys: [k8sKey.jwk] }, delayMs: 5000 });
    const tokens = verifier();
    const began = performance.now();
    expect(await tokens.verify(await sign(k8sKey, k8sClaims()), NOW)).toEqual(refused(ErrorCode.keysUnavailable));
    expect(performance.now() - began).toBeLessThan(FETCH_BOUND_MS + MARGIN_MS);
  });

  test('a slow fetch keeps going after the bound and fills the cache', async () => {
    keys.routes.set('/k8s/jwks', { body: { keys: [k8sKey.jwk] }, delayMs: 800 });
    const tokens = verifier();
    const token = await sign(k8sKey, k8sClaims());
    expect(await tokens.verify(token, NOW)).toEqual(refused(ErrorCode.keysUnavailable));
    await sources.get(K8S)!.refresh();
    expect(await tokens.verify(token, NOW)).toEqual({ ok: true, identity: frontend() });
    expect(keys.count('/k8s/jwks')).toBe(1);
  });
});

describe('verified-token cache', () => {
  class CountingKeySource implements KeySource {
    lookups = 0;
    constructor(private readonly inner: KeySource) {}
    keysFor(kid: string | undefined, waitMs: number): Promise<KeyLookup> {
      this.lookups += 1;
      return this.inner.keysFor(kid, waitMs);
    }
    generation(): number {
      return this.inner.generation();
    }
  }

  test('a hit returns the same identity without verifying again, and still honours exp', async () => {
    const counters: CountingKeySource[] = [];
    const tokens = verifier((source) => {
      const counting = new CountingKeySource(source);
      counters.push(counting);
      return counting;
    });
    const lookups = () => counters.reduce((sum, counter) => sum + counter.lookups, 0);
    const token = await sign(k8sKey, k8sClaims());

    const first = await tokens.verify(token, NOW);
    expect(first).toEqual({ ok: true, identity: frontend() });
    const second = await tokens.verify(token, NOW + 100);
    expect(second.ok && first.ok && second.identity === first.identity).toBe(true);
    expect(await tokens.verify(token, NOW + 600 + 29)).toEqual({ ok: true, identity: frontend() });
    expect(lookups()).toBe(1);

    expect(await tokens.verify(token, NOW + 600 + 30)).toEqual(refused(ErrorCode.tokenExpired));
    expect(await tokens.verify(token, NOW)).toEqual({ ok: true, identity: frontend() });
    expect(lookups()).toBe(2);
  });

  // Issue #14: a verified token stayed accepted until exp after its key left the issuer's set.
  test('a key removed from the JWKS file ends the cached tokens it signed at the next refresh', async () => {
    const file = join(jwksDir, 'oidc.json');
    const tokens = await started(verifier());
    const removed = await sign(oidcKey, oidcClaims());
    const kept = await sign(oidcSecondKey, oidcClaims());
    const keptWithoutKid = await sign(oidcSecondKey, { ...oidcClaims(), sub: 'bob' }, { kid: undefined });
    for (const token of [removed, kept, keptWithoutKid]) expect(await tokens.verify(token, NOW)).toMatchObject({ ok: true });
    try {
      writeFileSync(file, JSON.stringify({ keys: [oidcSecondKey.jwk] }));
      await sources.get(OIDC)!.refresh();
      expect(await tokens.verify(removed, NOW)).toEqual(refused(ErrorCode.unknownKey));
      expect(await tokens.verify(kept, NOW)).toMatchObject({ ok: true, identity: { name: 'alice' } });
      expect(await tokens.verify(keptWithoutKid, NOW)).toMatchObject({ ok: true, identity: { name: 'bob' } });
    } finally {
      writeFileSync(file, JSON.stringify({ keys: [oidcKey.jwk, oidcSecondKey.jwk] }));
    }
  });

  test('a key removed from a JWKS endpoint ends the cached tokens it signed; a token of the new key is accepted', async () => {
    const tokens = await started(verifier());
    const old = await sign(k8sKey, k8sClaims());
    expect(await tokens.verify(old, NOW)).toEqual({ ok: true, identity: frontend() });
    keys.routes.set('/k8s/jwks', { body: { keys: [k8sNextKey.jwk] } });
    await sources.get(K8S)!.refresh();
    expect(await tokens.verify(old, NOW)).toEqual(refused(ErrorCode.unknownKey));
    expect(await tokens.verify(await sign(k8sNextKey, k8sClaims()), NOW)).toEqual({ ok: true, identity: frontend() });
  });

  test('a refresh that changes nothing keeps the cache: no second verification', async () => {
    let lookups = 0;
    const tokens = await started(
      verifier((source) => ({
        keysFor: (kid, waitMs) => {
          lookups += 1;
          return source.keysFor(kid, waitMs);
        },
        generation: () => source.generation(),
      })),
    );
    const token = await sign(k8sKey, k8sClaims());
    await tokens.verify(token, NOW);
    await sources.get(K8S)!.refresh();
    expect(await tokens.verify(token, NOW)).toEqual({ ok: true, identity: frontend() });
    expect(lookups).toBe(1);
  });

  test('refusals are not cached', async () => {
    keys.routes.set('/k8s/jwks', { status: 503 });
    const tokens = verifier();
    const token = await sign(k8sKey, k8sClaims());
    expect(await tokens.verify(token, NOW)).toEqual(refused(ErrorCode.keysUnavailable));
    keys.routes.set('/k8s/jwks', { body: { keys: [k8sKey.jwk] } });
    await sources.get(K8S)!.refresh();
    expect(await tokens.verify(token, NOW)).toEqual({ ok: true, identity: frontend() });
  });
});

describe('TokenVerifier construction', () => {
  test('an issuer configured twice is refused', () => {
    const issuer = config.identity.jwt[0]!;
    expect(() => new TokenVerifier([issuer, issuer], ['cluster.local'], { maxTokenBytes: 1, keyFetchTimeoutMs: 1 }, keySources([issuer]))).toThrow(
      /configured twice/,
    );
  });

  test('an issuer without a key source is refused', () => {
    expect(() => new TokenVerifier(config.identity.jwt, ['cluster.local'], { maxTokenBytes: 1, keyFetchTimeoutMs: 1 }, new Map())).toThrow(/no key source/);
  });
});

describe('TokenVerifier construction: trust across issuers (issue #14)', () => {
  // Built by hand, past the config schema, so the verifier holds the rule on its own too.
  test.each([
    ['a spiffe issuer without trustDomain', 1, ['partner.example']],
    ['a kubernetes issuer without trustDomain among two trust domains', 0, ['cluster.local', 'partner.example']],
  ])('%s is refused: it never falls back to the first trust domain', (_name, index, trustDomains) => {
    const issuers = [{ ...config.identity.jwt[index]!, trustDomain: undefined }];
    expect(() => new TokenVerifier(issuers, trustDomains, { maxTokenBytes: 1, keyFetchTimeoutMs: 1 }, keySources(issuers))).toThrow(/needs a trustDomain/);
  });
});
