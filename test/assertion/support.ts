/**
 * Fixtures for the assertion tests: allowed decisions, PEM keys, a controllable clock, and the
 * key set served by the project's own HTTP server on a loopback port.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyResult } from 'jose';
import { Registry } from 'prom-client';
import type { JwksResponse } from '../../src/assertion/jwks-route.js';
import type { AllowDecision } from '../../src/assertion/signer.js';
import type { Identity, WorkloadClass } from '../../src/core/identity.js';
import { createHttpServer } from '../../src/transport/http-server.js';
import { someEvaluated } from '../support/evaluated.js';
import { spiffeId as parseSpiffeId } from '../support/expect-ok.js';

export const issuer = 'https://gatehouse.test';
export const frontendId = 'spiffe://cluster.local/ns/shop/sa/frontend';
/** As upstreams see it: the plain SPIFFE ID, so the assertion is a JWT-SVID. */
export const frontendPrincipal = frontendId;

export function workload(spiffeId = frontendId, workloadClass: WorkloadClass = 'service', authn: 'mtls' | 'jwt' = 'mtls'): Identity {
  return { kind: 'workload', spiffeId: parseSpiffeId(spiffeId), class: workloadClass, authn };
}

export const user: Identity = { kind: 'user', issuer: 'https://idp.test', subject: 'alice@example.com', name: 'alice@example.com', groups: ['sre'] };
export const anonymous: Identity = { kind: 'anonymous' };

export function allow(identity: Identity = workload(), resource = 'orders.shop'): AllowDecision {
  return {
    kind: 'allow',
    identity,
    subject: { action: 'GET', resource, resourceNamespace: resource.split('.')[1], path: '/api/orders/1' },
    policies: ['frontend-reads-orders'],
    errors: [],
    version: 'v1',
    evaluated: someEvaluated,
  };
}

export type KeyKind = 'P-256' | 'P-384' | 'RSA-2048' | 'Ed25519';

/** A fresh PKCS#8 PEM private key. */
export function privatePem(kind: KeyKind = 'P-256'): string {
  return privateKeyObject(kind).export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** The SPKI PEM public half of a PEM private key. */
export function publicPem(privateKeyPem: string): string {
  return createPublicKey(privateKeyPem).export({ type: 'spki', format: 'pem' }).toString();
}

function privateKeyObject(kind: KeyKind): KeyObject {
  switch (kind) {
    case 'P-256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    case 'P-384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    case 'RSA-2048':
      return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    case 'Ed25519':
      return generateKeyPairSync('ed25519').privateKey;
  }
}

/** Epoch milliseconds the test moves by hand. */
export class Clock {
  constructor(public ms = Date.UTC(2030, 0, 1)) {}
  readonly now = (): number => this.ms;
  get seconds(): number {
    return Math.floor(this.ms / 1000);
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-assertion-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The project's HTTP server with the given routes on 127.0.0.1:0. */
export class JwksServer {
  private constructor(
    private readonly server: Server,
    readonly url: URL,
  ) {}

  static async start(routes: ReadonlyMap<string, () => JwksResponse>): Promise<JwksServer> {
    const server = createHttpServer({ metrics: new Registry(), readiness: () => ({ ready: true, detail: {} }), routes });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return new JwksServer(server, new URL(`http://127.0.0.1:${port}/.well-known/jwks.json`));
  }

  /** Verifies as an upstream would: keys from a fresh fetch of the served set, issuer and audience checked. */
  verify(token: string, audience: string, at: Clock | Date): Promise<JWTVerifyResult<JWTPayload>> {
    const currentDate = at instanceof Date ? at : new Date(at.ms);
    return jwtVerify(token, createRemoteJWKSet(this.url), { issuer, audience, currentDate, algorithms: ['ES256', 'ES384', 'RS256', 'EdDSA'] });
  }

  /** The kids served now, by a real fetch. */
  async kids(): Promise<string[]> {
    const response = await fetch(this.url, { signal: AbortSignal.timeout(5000) });
    const body = (await response.json()) as { keys: { kid: string }[] };
    return body.keys.map((key) => key.kid);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
