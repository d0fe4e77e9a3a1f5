import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { ErrorCode, errorMessage, GatehouseError } from '../errors.js';

/** The signature algorithm follows from the key: a key is never used with a second algorithm. */
export type AssertionAlgorithm = 'ES256' | 'ES384' | 'ES512' | 'RS256' | 'EdDSA';

/** A public key as the key set serves it; `kid` is its RFC 7638 thumbprint. */
export interface PublishedKey {
  readonly kid: string;
  readonly alg: AssertionAlgorithm;
  /** Public members only, with `kid`, `alg` and `use: "sig"`. */
  readonly jwk: Readonly<JWK>;
}

export interface SigningKey extends PublishedKey {
  readonly privateKey: KeyObject;
}

const curveAlgorithms: Readonly<Record<string, AssertionAlgorithm>> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};

const minRsaBits = 2048;

/** A PEM private key (PKCS#8; SEC1 and PKCS#1 are read too); `origin` names it in errors. */
export async function signingKeyFromPem(pem: string, origin: string): Promise<SigningKey> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw keyError(origin, `not a PEM private key (${errorMessage(err)})`);
  }
  return { ...(await describe(createPublicKey(privateKey), origin)), privateKey };
}

/** A PEM public key, or a private key of which only the public half is kept. */
export async function publishedKeyFromPem(pem: string, origin: string): Promise<PublishedKey> {
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw keyError(origin, `not a PEM public or private key (${errorMessage(err)})`);
  }
  return describe(publicKey, origin);
}

/** A fresh P-256 key, for a single replica started without a key file. */
export async function generateSigningKey(): Promise<SigningKey> {
  const { privateKey } = await promisify(generateKeyPair)('ec', { namedCurve: 'P-256' });
  return { ...(await describe(createPublicKey(privateKey), 'generated key')), privateKey };
}

async function describe(publicKey: KeyObject, origin: string): Promise<PublishedKey> {
  const alg = algorithmOf(publicKey, origin);
  const members = publicKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(members, 'sha256');
  return { kid, alg, jwk: Object.freeze({ ...members, kid, alg, use: 'sig' }) };
}

function algorithmOf(key: KeyObject, origin: string): AssertionAlgorithm {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const alg = details.namedCurve === undefined ? undefined : curveAlgorithms[details.namedCurve];
      if (alg === undefined) throw keyError(origin, `EC curve ${details.namedCurve ?? '(unknown)'} is not one of P-256, P-384, P-521`);
      return alg;
    }
    case 'rsa':
      if ((details.modulusLength ?? 0) < minRsaBits) throw keyError(origin, `RSA key of ${details.modulusLength} bits; at least ${minRsaBits} are required`);
      return 'RS256';
    case 'ed25519':
      return 'EdDSA';
    default:
      throw keyError(origin, `${key.asymmetricKeyType ?? 'unknown'} keys cannot sign assertions; use EC P-256 (ES256), RSA (RS256) or Ed25519 (EdDSA)`);
  }
}

function keyError(origin: string, problem: string): GatehouseError {
  return new GatehouseError(ErrorCode.config, `response.assertion: ${origin}: ${problem}`);
}
