/**
 * A token issuer the tests control: an ES256 key, tokens for Kubernetes service accounts, and an
 * HTTP key endpoint that can answer, answer late, fail, or be down. Shared by the fault and limit
 * tests that need gatehouse to wait for keys.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export const kubernetesIssuer = 'https://kubernetes.default.svc.cluster.local';
export const frontendWorkload = 'spiffe://cluster.local/ns/shop/sa/frontend';

export class Issuer {
  private constructor(
    private readonly privateKey: CryptoKey,
    readonly jwk: JWK,
  ) {}

  static async create(kid = 'k1'): Promise<Issuer> {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    return new Issuer(privateKey, { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' });
  }

  get jwks(): { keys: JWK[] } {
    return { keys: [this.jwk] };
  }

  /** A bound service-account token for NS:SA, valid for ten minutes; `extra` adds or overrides claims. */
  serviceAccountToken(namespace = 'shop', name = 'frontend', extra: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: kubernetesIssuer,
      sub: `system:serviceaccount:${namespace}:${name}`,
      aud: ['gatehouse'],
      iat: now - 5,
      exp: now + 600,
      'kubernetes.io': { namespace, serviceaccount: { name, uid: `uid-${name}` } },
      ...extra,
    })
      .setProtectedHeader({ alg: 'ES256', kid: this.jwk.kid, ...header })
      .sign(this.privateKey);
  }

  /** A person's token from the OIDC issuer `issuer`, valid for ten minutes; `extra` adds claims (an RFC 8693 `act`). */
  userToken(issuer: string, subject: string, groups: readonly string[], header: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: issuer, sub: subject, aud: 'gatehouse', iat: now - 5, exp: now + 600, groups, ...extra })
      .setProtectedHeader({ alg: 'ES256', kid: this.jwk.kid, ...header })
      .sign(this.privateKey);
  }

  /** The `identity.jwt` entry of a config, as YAML, for keys at `jwksUri`. */
  static configYaml(jwksUri: string): string {
    return `identity:\n  jwt:\n    - issuer: "${kubernetesIssuer}"\n      kind: kubernetes\n      audiences: ["gatehouse"]\n      jwksUri: "${jwksUri}"\n`;
  }
}

/** How the key endpoint answers the next requests. */
export type KeyServerMode = { kind: 'ok' } | { kind: 'slow'; delayMs: number } | { kind: 'status'; status: number } | { kind: 'hang' };

/** A JWKS endpoint on loopback whose behaviour a test switches at will. */
export class KeyServer {
  mode: KeyServerMode = { kind: 'ok' };
  readonly requests: number[] = [];
  private readonly server: Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly pending = new Set<ServerResponse>();
  port = 0;

  constructor(private readonly jwks: () => unknown) {
    this.server = createServer((req, res) => this.answer(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get uri(): string {
    return `http://127.0.0.1:${this.port}/keys`;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    for (const res of this.pending) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private answer(_req: IncomingMessage, res: ServerResponse): void {
    this.requests.push(Date.now());
    const mode = this.mode;
    const send = (): void => {
      this.pending.delete(res);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.jwks()));
    };
    this.pending.add(res);
    if (mode.kind === 'ok') send();
    else if (mode.kind === 'status') {
      this.pending.delete(res);
      res.writeHead(mode.status).end();
    } else if (mode.kind === 'slow') {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        send();
      }, mode.delayMs);
      this.timers.add(timer);
    }
  }
}

/** A loopback port with nothing listening: connections to it are refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
