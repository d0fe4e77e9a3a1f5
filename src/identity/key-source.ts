import { createLocalJWKSet, type JSONWebKeySet, type JWK, type LocalJWKSet } from 'jose';
import type { JwtIssuerConfig } from '../config.js';
import { ErrorCode, errorMessage } from '../errors.js';
import { isRecord } from '../core/is-record.js';
import { originFor, type JwksOrigin, type OriginOptions } from './jwks-origin.js';
import { printable, quote } from './printable.js';

/**
 * Key sets for token issuers. gatehouse fetches them itself, only from where the configuration
 * says (a file, a JWKS URI, or the issuer's OIDC discovery document), never from a token's
 * `jku`, `x5u`, `jwk` or `x5c` header: a token must not choose what verifies it.
 */

export type KeyLookup =
  | { readonly ok: true; readonly keys: LocalJWKSet; readonly generation: number }
  | {
      readonly ok: false;
      readonly code: typeof ErrorCode.unknownKey | typeof ErrorCode.keysUnavailable;
      readonly detail: string;
    };

/** What a token verifier needs from one issuer's keys. */
export interface KeySource {
  /**
   * The key set to verify a token whose header names `kid` (undefined when the header has none).
   * Never waits longer than `waitMs` for a fetch; a fetch still running then keeps going and fills
   * the cache for later tokens.
   */
  keysFor(kid: string | undefined, waitMs: number): Promise<KeyLookup>;
  /**
   * Counts the changes of the key set. A token verified under an older generation is checked
   * again: a key removed at a refresh must end the tokens it signed, not leave them cached until exp.
   */
  generation(): number;
}

export interface KeySourceOptions {
  /** Least time between two fetches caused by tokens naming an unknown `kid`. */
  readonly minRefetchIntervalMs?: number;
  /** Background refresh period. */
  readonly refreshIntervalMs?: number;
  /** How long one fetch may run in the background before it is abandoned. */
  readonly fetchTimeoutMs?: number;
  /** Told about every failed fetch, for logs and metrics; the message holds no secrets. */
  readonly onFetchError?: (issuer: string, message: string) => void;
  /** Monotonic milliseconds, for the refetch rate limit. */
  readonly clock?: () => number;
}

const defaults = {
  minRefetchIntervalMs: 10_000,
  refreshIntervalMs: 5 * 60_000,
  fetchTimeoutMs: 10_000,
};

/** Key types our algorithm allow-list can use; `oct` (a shared secret) is never a verification key. */
const asymmetricKeyTypes = new Set(['RSA', 'EC', 'OKP']);
const privateMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

interface CachedKeySet {
  readonly keys: LocalJWKSet;
  readonly kids: ReadonlySet<string>;
  /** The accepted keys as JSON, to keep the imported-key cache when a refresh changes nothing. */
  readonly fingerprint: string;
}

/**
 * One issuer's cached key set. Tokens naming an unknown `kid` cause a refetch at a bounded rate;
 * a background refresh keeps the set current; the last good set keeps verifying while the origin
 * is down; concurrent fetches share one request.
 */
/** The key source an issuer's configuration names (`jwksFile`, `jwksUri` or `discovery`). */
export function keySourceFor(issuer: JwtIssuerConfig, options: KeySourceOptions & OriginOptions = {}): IssuerKeySource {
  return new IssuerKeySource(issuer.issuer, originFor(issuer, options), options);
}

export class IssuerKeySource implements KeySource {
  readonly #origin: JwksOrigin;
  readonly #minRefetchIntervalMs: number;
  readonly #refreshIntervalMs: number;
  readonly #fetchTimeoutMs: number;
  readonly #onFetchError: KeySourceOptions['onFetchError'];
  readonly #clock: () => number;
  readonly #abort = new AbortController();
  #current: CachedKeySet | undefined;
  #generation = 0;
  #inflight: Promise<void> | undefined;
  /** Why the most recent fetch failed; undefined once a fetch succeeds. */
  #lastError: string | undefined;
  #lastOnDemandFetchAt = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #stopWatching: (() => void) | undefined;

  constructor(
    readonly issuer: string,
    origin: JwksOrigin,
    options: KeySourceOptions = {},
  ) {
    this.#origin = origin;
    this.#minRefetchIntervalMs = options.minRefetchIntervalMs ?? defaults.minRefetchIntervalMs;
    this.#refreshIntervalMs = options.refreshIntervalMs ?? defaults.refreshIntervalMs;
    this.#fetchTimeoutMs = options.fetchTimeoutMs ?? defaults.fetchTimeoutMs;
    this.#onFetchError = options.onFetchError;
    this.#clock = options.clock ?? (() => performance.now());
  }

  /** Starts the first fetch, the periodic refresh and any origin watch. Idempotent. */
  start(): void {
    if (this.#timer !== undefined || this.#abort.signal.aborted) return;
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#refreshIntervalMs).unref();
    this.#stopWatching = this.#origin.watch?.(() => void this.refresh());
  }

  /** Stops background work and abandons any fetch in flight. The cached set stays usable. */
  close(): void {
    clearInterval(this.#timer);
    this.#stopWatching?.();
    this.#abort.abort();
  }

  /** Fetches now (joining a fetch already running); resolves when it ends, never rejects. */
  refresh(): Promise<void> {
    if (this.#abort.signal.aborted) return Promise.resolve();
    this.#inflight ??= this.#fetch().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async keysFor(kid: string | undefined, waitMs: number): Promise<KeyLookup> {
    const cached = this.#lookup(kid);
    if (cached) return cached;
    const fetching = this.#inflight ?? this.#onDemandFetch();
    if (fetching) await settledWithin(fetching, waitMs);
    return this.#lookup(kid) ?? this.#miss(kid);
  }

  generation(): number {
    return this.#generation;
  }

  #lookup(kid: string | undefined): KeyLookup | undefined {
    const current = this.#current;
    if (current && (kid === undefined || current.kids.has(kid))) return { ok: true, keys: current.keys, generation: this.#generation };
    return undefined;
  }

  #onDemandFetch(): Promise<void> | undefined {
    const now = this.#clock();
    if (now - this.#lastOnDemandFetchAt < this.#minRefetchIntervalMs) return undefined;
    this.#lastOnDemandFetchAt = now;
    return this.refresh();
  }

  #miss(kid: string | undefined): KeyLookup {
    if (this.#current === undefined) {
      return { ok: false, code: ErrorCode.keysUnavailable, detail: `no key set loaded: ${this.#lastError ?? 'fetch in progress'}` };
    }
    if (this.#inflight !== undefined || this.#lastError !== undefined) {
      const why = this.#lastError ?? 'refresh still in progress';
      return { ok: false, code: ErrorCode.keysUnavailable, detail: `key id ${quote(kid)} not in the cached key set: ${why}` };
    }
    return { ok: false, code: ErrorCode.unknownKey, detail: `key id ${quote(kid)} not in the issuer's key set` };
  }

  async #fetch(): Promise<void> {
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#fetchTimeoutMs)]);
    try {
      const next = toCachedKeySet(await this.#origin.fetch(signal));
      if (next.fingerprint !== this.#current?.fingerprint) {
        this.#current = next;
        this.#generation += 1;
      }
      this.#lastError = undefined;
    } catch (err) {
      this.#lastError = fetchFailure(err, signal);
      this.#onFetchError?.(this.issuer, this.#lastError);
    }
  }
}

/** Validates a JWKS document and keeps only public, asymmetric signing keys. */
function toCachedKeySet(doc: unknown): CachedKeySet {
  if (!isRecord(doc) || !Array.isArray(doc['keys'])) throw new Error('key set has no "keys" array');
  const keys = doc['keys'].filter(isUsableKey);
  if (keys.length === 0) throw new Error('key set has no usable public signing keys');
  const set: JSONWebKeySet = { keys };
  const kids = new Set(keys.flatMap((key) => (typeof key.kid === 'string' ? [key.kid] : [])));
  return { keys: createLocalJWKSet(set), kids, fingerprint: JSON.stringify(set) };
}

function isUsableKey(key: unknown): key is JWK {
  if (!isRecord(key)) return false;
  if (typeof key['kty'] !== 'string' || !asymmetricKeyTypes.has(key['kty'])) return false;
  if (privateMembers.some((member) => member in key)) return false;
  return key['use'] === undefined || key['use'] === 'sig';
}

async function settledWithin(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms));
  });
  try {
    await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function fetchFailure(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) return 'fetch timed out or was cancelled';
  return printable(errorMessage(err), 200);
}
