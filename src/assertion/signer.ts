import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Decision } from '../core/decision.js';
import { actClaim, authnMethodOf, upstreamPrincipal } from '../core/identity.js';
import type { KeyRing } from './key-ring.js';

export type AllowDecision = Extract<Decision, { kind: 'allow' }>;

export interface AssertionSignerOptions {
  readonly issuer: string;
  readonly ttlSeconds: number;
  /** Destination `Service` uids that get an assertion; empty means every service. */
  readonly services: readonly string[];
  /** Most assertions kept for reuse. */
  readonly cacheSize?: number;
}

interface CachedAssertion {
  readonly token: Promise<string>;
  readonly iat: number;
  /** From this second on, a new assertion is signed. */
  readonly refreshAt: number;
}

const defaultCacheSize = 10_000;

/**
 * Signs the upstream assertion of an allowed request (docs/reference.md, "Upstream assertion").
 *
 * Signing costs far more than a decision, so an assertion is reused for the same principal,
 * destination service, workload class, authentication method and signing key while more than
 * half its lifetime remains. A reused assertion is a fact about the caller, not about one
 * request: its `jti` names the token, and its `decision_id` is the decision that minted it, a
 * logged allow of the same caller to the same service; each request's own decision id travels in
 * the decision header.
 */
export class AssertionSigner {
  readonly #ring: KeyRing;
  readonly #issuer: string;
  readonly #ttlSeconds: number;
  readonly #services: ReadonlySet<string> | undefined;
  readonly #cache: LRUCache<string, CachedAssertion>;

  constructor(ring: KeyRing, options: AssertionSignerOptions) {
    this.#ring = ring;
    this.#issuer = options.issuer;
    this.#ttlSeconds = options.ttlSeconds;
    this.#services = options.services.length === 0 ? undefined : new Set(options.services);
    this.#cache = new LRUCache({ max: options.cacheSize ?? defaultCacheSize });
  }

  /** The assertion for an allowed request; undefined when its destination gets none. */
  mint(decision: AllowDecision, decisionId: string, nowSeconds: number): Promise<string> | undefined {
    const service = decision.subject.resource;
    // An assertion without an audience would be good at every upstream.
    if (service === '' || (this.#services !== undefined && !this.#services.has(service))) return undefined;
    const { identity } = decision;
    const key = this.#ring.signing;
    const sub = upstreamPrincipal(identity);
    // Anonymous callers have no subject to assert.
    if (sub === undefined) return undefined;
    const authn = authnMethodOf(identity);
    const workloadClass = identity.kind === 'workload' ? identity.class : undefined;

    const act = actClaim(identity);
    const cacheKey = JSON.stringify([key.kid, service, sub, workloadClass ?? null, authn, act ?? null]);
    const cached = this.#cache.get(cacheKey);
    if (cached !== undefined && cached.iat <= nowSeconds && nowSeconds < cached.refreshAt) return cached.token;

    const exp = nowSeconds + this.#ttlSeconds;
    this.#ring.recordUse(key.kid, exp);
    const claims = {
      decision_id: decisionId,
      authn,
      ...(workloadClass === undefined ? {} : { class: workloadClass }),
      ...(act === undefined ? {} : { act }),
    };
    const token = new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .setIssuer(this.#issuer)
      .setSubject(sub)
      .setAudience(service)
      .setIssuedAt(nowSeconds)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(key.privateKey);
    const entry: CachedAssertion = { token, iat: nowSeconds, refreshAt: nowSeconds + Math.floor(this.#ttlSeconds / 2) };
    this.#cache.set(cacheKey, entry);
    token.catch(() => {
      if (this.#cache.get(cacheKey) === entry) this.#cache.delete(cacheKey);
    });
    return token;
  }
}
