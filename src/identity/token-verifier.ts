import { compactVerify, decodeJwt, decodeProtectedHeader, errors, type JWTPayload, type LocalJWKSet } from 'jose';
import { LRUCache } from 'lru-cache';
import { workloadTrustDomain, type JwtIssuerConfig } from '../config.js';
import type { AuthnResult, Identity } from '../core/identity.js';
import { isRecord } from '../core/is-record.js';
import { ErrorCode, GatehouseError } from '../errors.js';
import { delegationFromAct } from './act-claim.js';
import { svidWorkload } from './jwt-svid.js';
import type { KeySource } from './key-source.js';
import { quote } from './printable.js';
import { RecentDigests } from './recent-digests.js';
import { serviceAccountWorkload } from './kubernetes-token.js';
import { oidcUser } from './oidc-token.js';
import { refuse, type Checked, type Refusal } from './token-refusal.js';

export interface TokenLimits {
  readonly maxTokenBytes: number;
  /** The longest a verification waits for a key fetch before answering. */
  readonly keyFetchTimeoutMs: number;
}

export interface TokenVerifierOptions {
  /** Verified tokens remembered, by SHA-256 of the token. */
  readonly cacheSize?: number;
  /** The longest RFC 8693 `act` chain accepted (`identity.maxDelegationDepth`, default 2). */
  readonly maxDelegationDepth?: number;
}

type Claims = JWTPayload & Record<string, unknown>;

interface Verified {
  readonly identity: Identity;
  readonly issuer: string;
  /** The generation of the issuer's key set that verified the signature. */
  readonly keyGeneration: number;
  readonly expiresAt: number;
  readonly notBefore: number | undefined;
  readonly clockSkewSeconds: number;
}

/** Base64url segments; the signature may be empty so that `alg: none` is named for its algorithm. */
const compactShape = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Verifies bearer tokens of the configured issuers and maps them to identities. The token
 * decides nothing about how it is checked: its header only selects among keys and algorithms the
 * configuration allows, and its unverified `iss` only selects which issuer's rules apply.
 */
export class TokenVerifier {
  readonly #issuers: ReadonlyMap<string, JwtIssuerConfig>;
  /** The trust domain of each kubernetes and spiffe issuer. */
  readonly #trustDomains: ReadonlyMap<string, string>;
  /** The trust domains each issuer may name acting workloads in (`act`). */
  readonly #actorDomains: ReadonlyMap<string, ReadonlySet<string>>;
  readonly #maxDelegationDepth: number;
  readonly #algorithms: ReadonlySet<string>;
  readonly #cache: LRUCache<string, Verified>;
  readonly #digests = new RecentDigests();

  constructor(
    issuers: readonly JwtIssuerConfig[],
    trustDomains: readonly string[],
    private readonly limits: TokenLimits,
    private readonly keySources: ReadonlyMap<string, KeySource>,
    options: TokenVerifierOptions = {},
  ) {
    const byIssuer = new Map<string, JwtIssuerConfig>();
    const domains = new Map<string, string>();
    const actorDomains = new Map<string, ReadonlySet<string>>();
    for (const issuer of issuers) {
      if (byIssuer.has(issuer.issuer)) throw new GatehouseError(ErrorCode.config, `identity.jwt: issuer ${quote(issuer.issuer)} is configured twice`);
      if (!keySources.has(issuer.issuer)) throw new GatehouseError(ErrorCode.internal, `no key source for issuer ${quote(issuer.issuer)}`);
      byIssuer.set(issuer.issuer, issuer);
      // A person's identity provider exchanging tokens for the mesh's workloads (RFC 8693) may
      // name them in any trusted domain; a workload issuer only in its own.
      if (issuer.kind === 'oidc') {
        actorDomains.set(issuer.issuer, new Set(trustDomains));
        continue;
      }
      const domain = workloadTrustDomain(issuer, { trustDomains, jwt: issuers });
      if (domain === undefined) throw new GatehouseError(ErrorCode.config, `identity.jwt: issuer ${quote(issuer.issuer)} needs a trustDomain`);
      domains.set(issuer.issuer, domain);
      actorDomains.set(issuer.issuer, new Set([domain]));
    }
    this.#actorDomains = actorDomains;
    this.#maxDelegationDepth = options.maxDelegationDepth ?? 2;
    this.#issuers = byIssuer;
    this.#trustDomains = domains;
    this.#algorithms = new Set(issuers.flatMap((issuer) => issuer.algorithms));
    this.#cache = new LRUCache({ max: options.cacheSize ?? 10_000 });
  }

  /** Synchronous for a cache hit (the steady state of a mesh), a promise when a signature must be checked. */
  verify(token: string, nowSeconds: number): AuthnResult | Promise<AuthnResult> {
    // A UTF-16 unit is at most three UTF-8 bytes: most tokens need no count.
    if (token.length * 3 > this.limits.maxTokenBytes && Buffer.byteLength(token, 'utf8') > this.limits.maxTokenBytes) {
      return refuse(ErrorCode.tokenTooLarge, `token is larger than ${this.limits.maxTokenBytes} bytes`);
    }
    const cacheKey = this.#digests.of(token);
    const cached = this.#cache.get(cacheKey);
    if (cached && this.keySources.get(cached.issuer)?.generation() === cached.keyGeneration) {
      const stale = timeRefusal(cached.expiresAt, cached.notBefore, cached.clockSkewSeconds, nowSeconds);
      if (stale) this.#cache.delete(cacheKey);
      return stale ?? { ok: true, identity: cached.identity };
    }
    // The key set changed since: the token is checked again, and refused if its key is gone.
    if (cached) this.#cache.delete(cacheKey);
    return this.#verifyAndRemember(token, cacheKey, nowSeconds);
  }

  async #verifyAndRemember(token: string, cacheKey: string, nowSeconds: number): Promise<AuthnResult> {
    const result = await this.#verifyUncached(token, nowSeconds);
    if (!result.ok) return result;
    const { ok: _ok, ...verified } = result;
    const ttlMs = (verified.expiresAt + verified.clockSkewSeconds - nowSeconds) * 1000;
    if (ttlMs >= 1) this.#cache.set(cacheKey, verified, { ttl: Math.floor(ttlMs) });
    return { ok: true, identity: verified.identity };
  }

  async #verifyUncached(token: string, nowSeconds: number): Promise<Checked<Verified>> {
    const peeked = peek(token);
    if (!peeked.ok) return peeked;
    const { alg, kid, iss } = peeked;
    if (!this.#algorithms.has(alg)) return refuse(ErrorCode.algorithmNotAllowed, `algorithm ${quote(alg)} is not allowed`);
    // Exact lookup is the `iss` check: the payload verified below is these same bytes.
    const issuer = iss === undefined ? undefined : this.#issuers.get(iss);
    if (!issuer) return refuse(ErrorCode.unknownIssuer, iss === undefined ? 'token has no iss' : `issuer ${quote(iss)} is not configured`);
    if (!(issuer.algorithms as readonly string[]).includes(alg)) {
      return refuse(ErrorCode.algorithmNotAllowed, `algorithm ${quote(alg)} is not allowed for issuer ${quote(iss)}`);
    }

    const keys = await this.keySources.get(issuer.issuer)!.keysFor(kid, this.limits.keyFetchTimeoutMs);
    if (!keys.ok) return refuse(keys.code, `issuer ${quote(iss)}: ${keys.detail}`);
    const signed = await verifySignature(token, keys.keys, issuer.algorithms);
    if (!signed.ok) return signed;

    const claims = parseClaims(signed.payload);
    if (!claims) return refuse(ErrorCode.malformedCredential, 'token payload is not a JSON object');
    const validity = checkClaims(issuer, claims, nowSeconds);
    if (!validity.ok) return validity;
    const identified = identityFor(issuer, claims, validity.expiresAt, this.#trustDomains.get(issuer.issuer));
    if (!identified.ok) return identified;
    const acting = delegationFromAct(claims['act'], {
      maxDepth: this.#maxDelegationDepth,
      actorDomains: this.#actorDomains.get(issuer.issuer)!,
      issuer: issuer.issuer,
    });
    if (!acting.ok) return acting;
    const { identity } = identified;
    return {
      ok: true,
      identity: acting.delegation === undefined || identity.kind === 'anonymous' ? identity : Object.freeze({ ...identity, delegation: acting.delegation }),
      issuer: issuer.issuer,
      keyGeneration: keys.generation,
      expiresAt: validity.expiresAt,
      notBefore: validity.notBefore,
      clockSkewSeconds: issuer.clockSkewSeconds,
    };
  }
}

/**
 * Reads the header and `iss` without trusting them, only to choose the rules the token is then
 * held to. Details never repeat the token: a parse failure names no bytes of it.
 */
function peek(token: string): Checked<{ alg: string; kid: string | undefined; iss: string | undefined }> {
  if (!compactShape.test(token)) return refuse(ErrorCode.malformedCredential, 'token is not three base64url parts');
  let header: Record<string, unknown>;
  let claims: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    claims = decodeJwt(token);
  } catch {
    return refuse(ErrorCode.malformedCredential, 'token header or payload is not base64url JSON object');
  }
  const { alg, kid, b64 } = header;
  if (typeof alg !== 'string') return refuse(ErrorCode.malformedCredential, 'token header has no alg');
  if (kid !== undefined && typeof kid !== 'string') return refuse(ErrorCode.malformedCredential, 'token header kid is not a string');
  if (b64 !== undefined) return refuse(ErrorCode.malformedCredential, 'token header must not use b64');
  return { ok: true, alg, kid, iss: typeof claims.iss === 'string' ? claims.iss : undefined };
}

async function verifySignature(token: string, keys: LocalJWKSet, algorithms: readonly string[]): Promise<Checked<{ payload: Uint8Array }>> {
  const options = { algorithms: [...algorithms] };
  try {
    return { ok: true, payload: (await compactVerify(token, keys, options)).payload };
  } catch (err) {
    if (!(err instanceof errors.JWKSMultipleMatchingKeys)) return verificationRefusal(err);
    // Several keys fit a token without `kid` (a rotation in progress): the signature decides.
    for await (const key of err) {
      try {
        return { ok: true, payload: (await compactVerify(token, key, options)).payload };
      } catch {
        continue;
      }
    }
    return refuse(ErrorCode.signatureInvalid, "signature does not verify with any of the issuer's keys");
  }
}

function verificationRefusal(err: unknown): Refusal {
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return refuse(ErrorCode.signatureInvalid, "signature does not verify with the issuer's key");
  }
  if (err instanceof errors.JWKSNoMatchingKey) {
    return refuse(ErrorCode.unknownKey, "no key in the issuer's key set fits the token's alg and kid");
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return refuse(ErrorCode.algorithmNotAllowed, 'algorithm is not allowed');
  if (err instanceof errors.JWSInvalid || err instanceof errors.JOSENotSupported) {
    return refuse(ErrorCode.malformedCredential, 'token is not a valid JWS (header parameters or encoding)');
  }
  // The key the issuer published cannot be imported (bad material, RSA under 2048 bits): our side.
  return refuse(ErrorCode.keysUnavailable, "the issuer's key for this token cannot be used");
}

function parseClaims(payload: Uint8Array): Claims | undefined {
  try {
    const claims: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
    return isRecord(claims) ? claims : undefined;
  } catch {
    return undefined;
  }
}

/** Registered claims, checked here rather than by jose so that every refusal has its exact code. */
function checkClaims(
  issuer: JwtIssuerConfig,
  claims: Claims,
  now: number,
): Checked<{ readonly expiresAt: number; readonly notBefore: number | undefined }> {
  const audience = audienceRefusal(claims.aud, issuer.audiences);
  if (audience) return audience;
  const { exp, nbf, iat } = claims;
  if (exp === undefined) return refuse(ErrorCode.missingExpiry, 'token has no exp');
  if (!isNumericDate(exp)) return refuse(ErrorCode.badClaims, 'exp is not a number');
  if (nbf !== undefined && !isNumericDate(nbf)) return refuse(ErrorCode.badClaims, 'nbf is not a number');
  if (iat !== undefined && !isNumericDate(iat)) return refuse(ErrorCode.badClaims, 'iat is not a number');
  const refusal = timeRefusal(exp, nbf, issuer.clockSkewSeconds, now) ?? lifetimeRefusal(exp, iat, issuer, now);
  return refusal ?? { ok: true, expiresAt: exp, notBefore: nbf };
}

function audienceRefusal(aud: unknown, audiences: readonly string[]): Refusal | undefined {
  if (aud === undefined) return refuse(ErrorCode.audienceMismatch, 'token has no aud');
  const values = typeof aud === 'string' ? [aud] : aud;
  if (!Array.isArray(values) || !values.every((value) => typeof value === 'string')) {
    return refuse(ErrorCode.badClaims, 'aud is neither a string nor an array of strings');
  }
  if (values.some((value) => audiences.includes(value))) return undefined;
  const shown = values.slice(0, 3).map(quote).join(', ') + (values.length > 3 ? ', …' : '');
  return refuse(ErrorCode.audienceMismatch, `token audience [${shown}] has no configured audience`);
}

function timeRefusal(exp: number, nbf: number | undefined, skew: number, now: number): Refusal | undefined {
  if (now >= exp + skew) return refuse(ErrorCode.tokenExpired, `token expired at ${exp}`);
  if (nbf !== undefined && now + skew < nbf) return refuse(ErrorCode.tokenNotYetValid, `token is not valid before ${nbf}`);
  return undefined;
}

/**
 * `exp - iat` bounds the lifetime the issuer granted; `exp - now` bounds what is left of it, so a
 * token without `iat`, or with an `iat` in the future, cannot outlive the maximum either.
 */
function lifetimeRefusal(exp: number, iat: number | undefined, issuer: JwtIssuerConfig, now: number): Refusal | undefined {
  const max = issuer.maxLifetimeSeconds;
  if (iat !== undefined && exp - iat > max) {
    return refuse(ErrorCode.lifetimeTooLong, `token lifetime ${exp - iat}s is over the ${max}s maximum`);
  }
  if (exp - now > max + issuer.clockSkewSeconds) {
    return refuse(ErrorCode.lifetimeTooLong, `token remains valid ${exp - now}s, over the ${max}s maximum`);
  }
  return undefined;
}

/**
 * Each kind of issuer turns a verified token's claims into its own kind of identity. A workload
 * issuer names workloads only in its own trust domain: a partner's SPIRE server or a second
 * cluster must not mint identities in ours.
 */
function identityFor(issuer: JwtIssuerConfig, claims: Claims, expiresAt: number, trustDomain: string | undefined): AuthnResult {
  const { sub } = claims;
  if (typeof sub !== 'string' || sub === '') return refuse(ErrorCode.badClaims, 'token has no sub');
  switch (issuer.kind) {
    case 'kubernetes':
      return serviceAccountWorkload(issuer.issuer, sub, claims['kubernetes.io'], expiresAt, trustDomain!);
    case 'spiffe':
      return svidWorkload(issuer.issuer, sub, expiresAt, trustDomain!);
    case 'oidc':
      return oidcUser(issuer, sub, claims[issuer.groupsClaim], expiresAt);
    default: {
      const never: never = issuer.kind;
      return never;
    }
  }
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
