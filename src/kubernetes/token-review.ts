import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import { LRUCache } from 'lru-cache';
import type { AuthnResult, Identity } from '../core/identity.js';
import { ErrorCode, GatehouseError } from '../errors.js';
import { quote } from '../identity/printable.js';
import type { TokenVerification } from '../identity/resolve.js';
import { SpiffeId } from '../core/spiffe-id.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
import { describe } from './describe-error.js';
import { statusMessage, type KubeApi } from './kube-api.js';
import { isRecord } from '../core/is-record.js';
import { serviceAccountSubject } from '../identity/kubernetes-token.js';
import { refuse } from '../identity/token-refusal.js';

export interface TokenReviewOptions {
  /** Sent as `spec.audiences`; the API server must confirm one of them. */
  readonly audiences: readonly string[];
  /** The cluster's trust domain, for the workload's SPIFFE ID. */
  readonly trustDomain: string;
  /** Reviews outstanding at once; more wait their turn. */
  readonly maxConcurrent?: number;
  /** Longest one review may take, waiting for its turn included. */
  readonly timeoutMs?: number;
  /** Results remembered, by SHA-256 of the token. */
  readonly cacheSize?: number;
  /** Longest an accepted token is trusted without asking again (never past its `exp`). */
  readonly maxCacheSeconds?: number;
  /** How long a refused token stays refused without asking again. */
  readonly refusalCacheSeconds?: number;
  readonly maxTokenBytes?: number;
}


interface Cached {
  readonly result: AuthnResult;
  /** The token's `exp`, when it has one: a cached acceptance ends there whatever the cache TTL. */
  readonly expiresAt: number | undefined;
}

const reviewPath = '/apis/authentication.k8s.io/v1/tokenreviews';

/**
 * Verifies bearer tokens by asking the API server (TokenReview) instead of checking signatures
 * here: legacy and bound service-account tokens alike, with the API server's own revocation.
 * Answers are cached per token; concurrent Checks with one token share one review, and the
 * number of reviews outstanding is bounded. When the API server cannot answer, the token is
 * refused (`keys_unavailable`): never accepted unchecked. The token itself is never logged or
 * put in a detail.
 */
export class TokenReviewVerifier implements TokenVerification {
  readonly #api: Pick<KubeApi, 'request'>;
  readonly #audiences: readonly string[];
  readonly #trustDomain: string;
  readonly #limit: ConcurrencyLimit;
  readonly #timeoutMs: number;
  readonly #maxCacheSeconds: number;
  readonly #refusalCacheSeconds: number;
  readonly #maxTokenBytes: number;
  readonly #cache: LRUCache<string, Cached>;
  readonly #inflight = new Map<string, Promise<AuthnResult>>();

  constructor(api: Pick<KubeApi, 'request'>, options: TokenReviewOptions) {
    if (options.audiences.length === 0) {
      throw new GatehouseError(ErrorCode.config, 'kubernetes.tokenReview needs at least one audience, or any token for the API server would pass');
    }
    this.#api = api;
    this.#audiences = [...options.audiences];
    this.#trustDomain = options.trustDomain;
    this.#limit = new ConcurrencyLimit(options.maxConcurrent ?? 8);
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#maxCacheSeconds = options.maxCacheSeconds ?? 300;
    this.#refusalCacheSeconds = options.refusalCacheSeconds ?? 10;
    this.#maxTokenBytes = options.maxTokenBytes ?? 16 * 1024;
    this.#cache = new LRUCache({ max: options.cacheSize ?? 10_000 });
  }

  /** Reviews running now (not those waiting for a turn). */
  get reviewsInFlight(): number {
    return this.#limit.active;
  }

  verify(token: string, nowSeconds: number): Promise<AuthnResult> {
    if (token === '') return Promise.resolve(refuse(ErrorCode.malformedCredential, 'bearer token is empty'));
    if (Buffer.byteLength(token, 'utf8') > this.#maxTokenBytes) {
      return Promise.resolve(refuse(ErrorCode.tokenTooLarge, `token is larger than ${this.#maxTokenBytes} bytes`));
    }
    const key = createHash('sha256').update(token).digest('base64url');
    const cached = this.#cache.get(key);
    if (cached) {
      if (!cached.result.ok || cached.expiresAt === undefined || nowSeconds < cached.expiresAt) return Promise.resolve(cached.result);
      this.#cache.delete(key);
      return Promise.resolve(refuse(ErrorCode.tokenExpired, `token expired at ${cached.expiresAt}`));
    }
    let review = this.#inflight.get(key);
    if (!review) {
      review = this.#review(key, token, nowSeconds).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, review);
    }
    return review;
  }

  async #review(key: string, token: string, nowSeconds: number): Promise<AuthnResult> {
    const claims = unverifiedClaims(token);
    const signal = AbortSignal.timeout(this.#timeoutMs);
    const body = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: this.#audiences } };
    let result: AuthnResult;
    try {
      const res = await this.#limit.run(() => this.#api.request('POST', reviewPath, { signal, body, maxBytes: 1024 * 1024 }), signal);
      result = this.#interpret(res.status, res.body, claims);
    } catch (err) {
      return refuse(ErrorCode.keysUnavailable, signal.aborted ? 'TokenReview timed out' : `TokenReview failed: ${describe(err)}`);
    }
    if (!(!result.ok && result.code === ErrorCode.keysUnavailable)) this.#remember(key, result, claims.exp, nowSeconds);
    return result;
  }

  #remember(key: string, result: AuthnResult, exp: number | undefined, nowSeconds: number): void {
    const seconds = result.ok ? Math.min(this.#maxCacheSeconds, exp === undefined ? Infinity : exp - nowSeconds) : this.#refusalCacheSeconds;
    if (seconds >= 1) this.#cache.set(key, { result, expiresAt: exp }, { ttl: Math.floor(seconds * 1000) });
  }

  #interpret(httpStatus: number, body: unknown, claims: UnverifiedClaims): AuthnResult {
    if (httpStatus !== 200 && httpStatus !== 201) {
      return refuse(ErrorCode.keysUnavailable, `TokenReview answered HTTP ${httpStatus}${statusMessage(body)}`);
    }
    const status = isRecord(body) ? body['status'] : undefined;
    if (!isRecord(status)) return refuse(ErrorCode.keysUnavailable, 'TokenReview answer has no status');
    if (status['authenticated'] !== true) {
      const why = typeof status['error'] === 'string' && status['error'] !== '' ? `: ${quote(status['error'])}` : '';
      return refuse(ErrorCode.signatureInvalid, `the API server did not authenticate the token${why}`);
    }
    const audiences = status['audiences'];
    if (!Array.isArray(audiences) || !audiences.some((aud) => typeof aud === 'string' && this.#audiences.includes(aud))) {
      return refuse(ErrorCode.audienceMismatch, 'the API server did not confirm a configured audience for the token');
    }
    const user = status['user'];
    return isRecord(user) ? this.#workload(user, claims) : refuse(ErrorCode.badClaims, 'TokenReview answer has no user');
  }

  #workload(user: Record<string, unknown>, claims: UnverifiedClaims): AuthnResult {
    const match = typeof user['username'] === 'string' ? serviceAccountSubject.exec(user['username']) : null;
    if (!match) return refuse(ErrorCode.badClaims, 'the token does not name a service account (system:serviceaccount:NAMESPACE:NAME)');
    const [, namespace = '', name = ''] = match;
    const uid = user['uid'];
    if (typeof uid !== 'string' || uid === '') return refuse(ErrorCode.badClaims, 'TokenReview answer has no service account uid');
    const spiffeId = SpiffeId.forServiceAccount(this.#trustDomain, namespace, name);
    if (!spiffeId.ok) return refuse(ErrorCode.badClaims, `the service account does not name a workload: ${spiffeId.reason}`);
    const extra = isRecord(user['extra']) ? user['extra'] : {};
    const podName = single(extra['authentication.kubernetes.io/pod-name']);
    const podUid = single(extra['authentication.kubernetes.io/pod-uid']);
    const kubernetes = Object.freeze({
      namespace,
      serviceAccountName: name,
      serviceAccountUid: uid,
      ...(podName === undefined ? {} : { podName }),
      ...(podUid === undefined ? {} : { podUid }),
    });
    const identity: Identity = Object.freeze({
      kind: 'workload',
      spiffeId: spiffeId.value,
      class: 'unknown',
      authn: 'jwt',
      kubernetes,
      ...(claims.iss === undefined ? {} : { issuer: claims.iss }),
      ...(claims.exp === undefined ? {} : { expiresAt: claims.exp }),
    });
    return { ok: true, identity };
  }
}

interface UnverifiedClaims {
  readonly exp: number | undefined;
  readonly iss: string | undefined;
}

/**
 * `exp` and `iss` read without verifying, only to bound the cache and to label the identity once
 * the API server has accepted the token (it checked both). A token that is not a JWT has neither.
 */
function unverifiedClaims(token: string): UnverifiedClaims {
  try {
    const { exp, iss } = decodeJwt(token);
    return { exp: typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined, iss: typeof iss === 'string' ? iss : undefined };
  } catch {
    return { exp: undefined, iss: undefined };
  }
}

/** TokenReview `extra` values are string arrays; one value is meaningful, several are not. */
function single(value: unknown): string | undefined {
  return Array.isArray(value) && value.length === 1 && typeof value[0] === 'string' && value[0] !== '' ? value[0] : undefined;
}
