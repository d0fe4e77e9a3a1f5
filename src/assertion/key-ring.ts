import type { JSONWebKeySet, JWK } from 'jose';
import type { PublishedKey, SigningKey } from './signing-key.js';

export interface KeyRingOptions {
  /** The assertion lifetime: a key that stops signing is served at least this long after. */
  readonly ttlSeconds: number;
  /** Added to every retention, for upstream clocks and their `clockTolerance`. */
  readonly skewSeconds: number;
}

interface Usage {
  /** The latest `exp` of an assertion the key signed, epoch seconds. */
  lastExpiry: number;
}

interface Retired {
  readonly key: PublishedKey;
  readonly usage: Usage;
  readonly retiredAt: number;
}

/**
 * The signing key and every public key an upstream may still need: the keys of `publishKeyFiles`,
 * and each former signing key until the last assertion it signed has expired (plus skew). No I/O
 * and no clock: times are passed in, as epoch seconds.
 */
export class KeyRing {
  #signing: SigningKey;
  #usage: Usage = { lastExpiry: Number.NEGATIVE_INFINITY };
  #published: readonly PublishedKey[] = [];
  readonly #retired = new Map<string, Retired>();
  readonly #options: KeyRingOptions;

  constructor(signing: SigningKey, options: KeyRingOptions) {
    this.#signing = signing;
    this.#options = options;
  }

  get signing(): SigningKey {
    return this.#signing;
  }

  /**
   * Records, before signing, that `kid` signs an assertion expiring at `exp`. A mint that began
   * before a rotation still extends the retention of the key it holds.
   */
  recordUse(kid: string, exp: number): void {
    const usage = kid === this.#signing.kid ? this.#usage : this.#retired.get(kid)?.usage;
    if (usage && exp > usage.lastExpiry) usage.lastExpiry = exp;
  }

  /** `next` signs from now on; the former key stays in the key set while its assertions live. */
  rotate(next: SigningKey, nowSeconds: number): void {
    if (next.kid === this.#signing.kid) return;
    this.#retired.set(this.#signing.kid, { key: this.#signing, usage: this.#usage, retiredAt: nowSeconds });
    const returning = this.#retired.get(next.kid);
    this.#retired.delete(next.kid);
    this.#signing = next;
    this.#usage = returning?.usage ?? { lastExpiry: Number.NEGATIVE_INFINITY };
  }

  /** Replaces the keys served without signing. */
  publish(keys: readonly PublishedKey[]): void {
    this.#published = [...keys];
  }

  /** The keys served at `/.well-known/jwks.json` at `nowSeconds`: signing key first. */
  keySet(nowSeconds: number): JSONWebKeySet {
    this.#dropExpired(nowSeconds);
    const keys = new Map<string, JWK>([[this.#signing.kid, this.#signing.jwk]]);
    for (const key of [...this.#published, ...[...this.#retired.values()].map((retired) => retired.key)]) {
      if (!keys.has(key.kid)) keys.set(key.kid, key.jwk);
    }
    return { keys: [...keys.values()] };
  }

  #dropExpired(nowSeconds: number): void {
    const { ttlSeconds, skewSeconds } = this.#options;
    for (const [kid, retired] of this.#retired) {
      // retiredAt + ttl also covers what this key signed elsewhere until then: an earlier process, another replica.
      const until = Math.max(retired.retiredAt + ttlSeconds, retired.usage.lastExpiry) + skewSeconds;
      if (nowSeconds >= until) this.#retired.delete(kid);
    }
  }
}
