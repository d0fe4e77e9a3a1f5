/**
 * Tokens for the fuzzers: a few genuine ones, signed with the configured issuers' keys, and the
 * classic forgeries (alg none, HMAC keyed with the public key, keys offered in the token header,
 * another signer, wrong audience, expired, over-long lifetime). The oracle knows which are genuine
 * and whom each names; any other token that authenticates is a finding.
 */
import { base64url, createLocalJWKSet, exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { KeySource } from '../../src/identity/key-source.js';
import type { Expected } from './oracle.js';
import { workloads } from './oracle.js';

export const NOW = 1_800_000_000;
export const kubernetesIssuer = 'https://kubernetes.default.svc.cluster.local';
export const oidcIssuer = 'https://login.example.com';

/** A log-injection attempt carried as a (genuinely signed) OIDC subject. */
export const hostileSubject = 'eve\r\nx-gatehouse-principal: Workload::"admin"\u2028\x1b[31m\x7f\u0085\0';

/** The `identity` part of the fuzz config; keys come from `keySources` rather than jwksFile. */
export const fuzzIdentityYaml = {
  trustDomains: ['cluster.local'],
  classes: [
    { class: 'automation', namespace: 'ops' },
    { class: 'build', namespace: 'ci' },
    { class: 'build', pathPattern: '/ns/*/sa/build-*' },
  ],
  jwt: [
    { issuer: kubernetesIssuer, kind: 'kubernetes', audiences: ['gatehouse'], jwksFile: '/nonexistent/fuzz-keys-are-in-memory.json', algorithms: ['ES256'] },
    { issuer: oidcIssuer, kind: 'oidc', audiences: ['gatehouse'], jwksFile: '/nonexistent/fuzz-keys-are-in-memory.json', algorithms: ['ES256'] },
  ],
};

export interface TokenKit {
  readonly valid: ReadonlyMap<string, Expected>;
  readonly forged: readonly string[];
  readonly keySources: ReadonlyMap<string, KeySource>;
}

interface Key {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly jwk: JWK;
}

async function key(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

function staticKeys(jwk: JWK): KeySource {
  const keys = createLocalJWKSet({ keys: [jwk] });
  return { keysFor: async () => ({ ok: true, keys, generation: 0 }), generation: () => 0 };
}

const encodeJson = (value: unknown): string => base64url.encode(JSON.stringify(value));

export async function makeTokenKit(): Promise<TokenKit> {
  const k8s = await key('k8s-1');
  const oidc = await key('oidc-1');
  const attacker = await key('k8s-1');
  const valid = new Map<string, Expected>();
  const forged: string[] = [];

  const sign = (signer: Key, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: signer.jwk.kid, ...header }).sign(signer.privateKey);
  const serviceAccount = (id: string): Record<string, unknown> => {
    // spiffe://cluster.local/ns/NS/sa/SA
    const [, , , , ns = '', , sa = ''] = id.split('/');
    return {
      iss: kubernetesIssuer,
      sub: `system:serviceaccount:${ns}:${sa}`,
      aud: ['gatehouse'],
      iat: NOW - 60,
      exp: NOW + 600,
      'kubernetes.io': { namespace: ns, serviceaccount: { name: sa, uid: `uid-${sa}` }, pod: { name: `${sa}-0`, uid: `pod-${sa}` } },
    };
  };
  const user = (subject: string, groups?: string[]): Record<string, unknown> => ({
    iss: oidcIssuer,
    sub: subject,
    aud: 'gatehouse',
    iat: NOW - 60,
    exp: NOW + 600,
    ...(groups === undefined ? {} : { groups }),
  });

  for (const id of Object.values(workloads)) valid.set(await sign(k8s, serviceAccount(id)), { kind: 'workload', id });
  for (const [subject, groups] of [['alice', ['sre']], ['bob', ['dev']], ['carol', undefined], [hostileSubject, ['sre']]] as const) {
    valid.set(await sign(oidc, user(subject, groups ? [...groups] : undefined)), { kind: 'user', subject, groups: groups ?? [] });
  }

  const frontendClaims = serviceAccount(workloads.frontend);
  const sreClaims = user('mallory', ['sre']);
  forged.push(
    await sign(attacker, frontendClaims),
    await sign(attacker, frontendClaims, { jwk: attacker.jwk }),
    await sign(attacker, frontendClaims, { jku: 'http://127.0.0.1:1/keys.json' }),
    await sign(attacker, frontendClaims, { x5u: 'http://127.0.0.1:1/cert.pem' }),
    await sign(attacker, sreClaims, { kid: 'oidc-1' }),
    await sign(k8s, { ...frontendClaims, aud: ['other-service'] }),
    await sign(k8s, { ...frontendClaims, exp: NOW - 120 }),
    await sign(k8s, { ...frontendClaims, nbf: NOW + 3600 }),
    await sign(k8s, { ...frontendClaims, exp: NOW + 10 * 86400 }),
    await sign(k8s, Object.fromEntries(Object.entries(frontendClaims).filter(([name]) => name !== 'exp'))),
    await sign(k8s, { ...frontendClaims, iss: 'https://evil.example' }),
    await sign(k8s, { ...frontendClaims, sub: 'system:serviceaccount:shop:checkout' }),
    await sign(oidc, { ...frontendClaims, iss: oidcIssuer }),
    await sign(k8s, sreClaims),
    await sign(k8s, frontendClaims, { kid: '../../../etc/passwd\r\n\x1b[31m' }),
    `${encodeJson({ alg: 'none' })}.${encodeJson(frontendClaims)}.`,
    `${encodeJson({ alg: 'none', kid: 'k8s-1' })}.${encodeJson(frontendClaims)}.`,
    await new SignJWT(frontendClaims)
      .setProtectedHeader({ alg: 'HS256', kid: 'k8s-1' })
      .sign(new TextEncoder().encode(await exportSPKI(k8s.publicKey))),
    await new SignJWT(frontendClaims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(JSON.stringify(k8s.jwk))),
  );
  const keySources = new Map<string, KeySource>([
    [kubernetesIssuer, staticKeys(k8s.jwk)],
    [oidcIssuer, staticKeys(oidc.jwk)],
  ]);
  return { valid, forged, keySources };
}
