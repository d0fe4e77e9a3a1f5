import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { ErrorCode, GatehouseError } from '../../src/errors.js';
import { generateSigningKey, publishedKeyFromPem, signingKeyFromPem } from '../../src/assertion/signing-key.js';
import { privatePem, type KeyKind } from './support.js';

const pem = (key: { export(options: { type: 'pkcs8'; format: 'pem' }): string | Buffer }): string => key.export({ type: 'pkcs8', format: 'pem' }).toString();

describe('the algorithm follows from the key type', () => {
  const cases: { kind: KeyKind; alg: string; kty: string }[] = [
    { kind: 'P-256', alg: 'ES256', kty: 'EC' },
    { kind: 'P-384', alg: 'ES384', kty: 'EC' },
    { kind: 'RSA-2048', alg: 'RS256', kty: 'RSA' },
    { kind: 'Ed25519', alg: 'EdDSA', kty: 'OKP' },
  ];
  test.each(cases)('$kind signs with $alg', async ({ kind, alg, kty }) => {
    const key = await signingKeyFromPem(privatePem(kind), 'key.pem');
    expect(key.alg).toBe(alg);
    expect(key.jwk).toMatchObject({ kty, kid: key.kid, alg, use: 'sig' });
  });
});

describe('refused keys name the file and the problem', () => {
  const cases: { name: string; pem: () => string; message: RegExp }[] = [
    { name: 'RSA below 2048 bits', pem: () => pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey), message: /RSA key of 1024 bits/ },
    { name: 'an EC curve outside P-256/384/521', pem: () => pem(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey), message: /EC curve secp256k1/ },
    { name: 'Ed448', pem: () => pem(generateKeyPairSync('ed448').privateKey), message: /ed448 keys cannot sign/ },
    { name: 'a public key where a private key is needed', pem: () => createPublicKey(privatePem()).export({ type: 'spki', format: 'pem' }).toString(), message: /not a PEM private key/ },
    { name: 'garbage', pem: () => '-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n', message: /not a PEM private key/ },
  ];
  test.each(cases)('$name', async ({ pem: text, message }) => {
    const failure = signingKeyFromPem(text(), '/keys/signing.pem');
    await expect(failure).rejects.toBeInstanceOf(GatehouseError);
    await expect(failure).rejects.toMatchObject({ code: ErrorCode.config, message: expect.stringMatching(/^response\.assertion: \/keys\/signing\.pem: /) });
    await expect(failure).rejects.toThrow(message);
  });
});

test('kid is the RFC 7638 thumbprint (the RFC 7638 section 3.1 example key)', async () => {
  const rfcKey = {
    kty: 'RSA',
    n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
    e: 'AQAB',
  };
  const spki = createPublicKey({ key: rfcKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
  const key = await publishedKeyFromPem(spki, 'rfc7638.pem');
  expect(key.kid).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
});

test('a published key from a private PEM keeps only public members', async () => {
  const text = privatePem('RSA-2048');
  const published = await publishedKeyFromPem(text, 'key.pem');
  const signing = await signingKeyFromPem(text, 'key.pem');
  expect(published.kid).toBe(signing.kid);
  expect(Object.keys(published.jwk).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
  expect(Object.keys(signing.jwk).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
});

test('a generated key is a fresh P-256 key', async () => {
  const [a, b] = await Promise.all([generateSigningKey(), generateSigningKey()]);
  expect(a.alg).toBe('ES256');
  expect(a.jwk).toMatchObject({ kty: 'EC', crv: 'P-256' });
  expect(a.jwk).not.toHaveProperty('d');
  expect(a.kid).not.toBe(b.kid);
});
