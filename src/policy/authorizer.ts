import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { CedarRequest } from '../core/cedar-request.js';
import type { Authorizer, AuthorizeResult } from '../core/decide.js';
import type { Identity } from '../core/identity.js';
import type { RequestSubject } from '../core/parse-request.js';
import type { RequestFacts } from '../core/request-facts.js';
import type { EngineDecision, PolicyEngine } from './cedar/engine.js';
import { buildCedarRequest, knownActions, type EntityOptions } from './entities.js';
import { likeMatcher, policyReads, readsEverything, type PolicyReads } from './reads.js';
import { keyable, requestKey } from './request-key.js';
import { SharedDecisions } from './shared-decisions.js';
import { PolicySlicer } from './slicing/slicer.js';

const maxPlainKey = 1024;

export interface AuthorizerOptions extends Omit<EntityOptions, 'reads'> {
  /** Decisions remembered per policy-set version; 0 turns the cache off. */
  readonly cacheSize?: number;
  /**
   * Evaluate each request against only the policies whose scope can match it (default true; see
   * slicing/slicer.ts). Off, every request is evaluated against the whole set: the reference
   * the fuzz oracle compares with.
   */
  readonly slicing?: boolean;
}

/**
 * The core's Authorizer over one Cedar policy-set version. Requests carry only what the set can
 * read (see reads.ts), and decisions are cached on exactly that request, with the path replaced
 * by the results of the only tests policies apply to it: Cedar is deterministic, so requests
 * that no policy can tell apart get the same answer.
 */
export class CedarAuthorizer implements Authorizer {
  readonly knownActions = knownActions;
  readonly reads: PolicyReads;
  private readonly cache: LRUCache<string, Readonly<EngineDecision>> | undefined;
  private readonly entityOptions: EntityOptions;
  /** The path tests of the set, when the path is read only through them (see reads.ts). */
  private readonly pathTests: readonly ((path: string) => boolean)[] | undefined;
  private readonly slicer: PolicySlicer | undefined;
  private readonly shared: SharedDecisions;
  /** Whether the cache key can be made without building the request (see request-key.ts). */
  private readonly keyable: boolean;

  constructor(
    readonly engine: PolicyEngine,
    options: AuthorizerOptions = {},
  ) {
    const jsons = engine.policies.map((policy) => engine.policyJson(policy.id));
    this.reads = jsons.every((json) => json !== undefined) ? policyReads(jsons) : readsEverything;
    this.entityOptions = { ...options, reads: this.reads };
    this.slicer = options.slicing === false ? undefined : new PolicySlicer(engine);
    this.shared = new SharedDecisions(engine);
    this.keyable = keyable(this.reads);
    const size = options.cacheSize ?? 10_000;
    this.cache = size > 0 ? new LRUCache({ max: size }) : undefined;
    const tests = this.reads.pathTests;
    this.pathTests =
      tests === 'opaque'
        ? undefined
        : tests.map((test) => {
            if (test.kind === 'eq') return (path: string) => path === test.value;
            return likeMatcher(test.pattern);
          });
  }

  get version(): string {
    return this.engine.version;
  }

  ambiguity(subject: RequestSubject, facts: RequestFacts): string | undefined {
    const header = firstRead(facts.repeatedHeaders, this.reads.headers);
    if (header !== undefined) return `header ${JSON.stringify(header.slice(0, 64))} is sent more than once with different values`;
    if (this.reads.query !== 'all' && this.reads.query.size === 0) return undefined;
    const key = firstRead(repeatedQueryKeys(subject.query), this.reads.query);
    return key === undefined ? undefined : `query parameter ${JSON.stringify(key.slice(0, 64))} is sent more than once with different values`;
  }

  authorize(identity: Identity, subject: RequestSubject, facts: RequestFacts): AuthorizeResult {
    let built: CedarRequest | undefined;
    const request = (): CedarRequest => (built ??= buildCedarRequest(identity, subject, facts, this.entityOptions));
    if (!this.cache) return { ...this.evaluate(request()), evaluated: request };
    // Keyed on the path's test results rather than the path, when policies see no more of it:
    // /api/orders/1 and /api/orders/2 then share one entry.
    const path = this.pathTests ? pathTestResults(this.pathTests, subject.path) : undefined;
    let keyed: CedarRequest | undefined;
    const keyedRequest = (): CedarRequest => (keyed ??= path === undefined ? request() : { ...request(), context: { ...request().context, path } });
    // A long key is replaced by its digest, so every entry stays small whatever the caller sent
    // (headers read in full can be 64 KiB); the usual short key skips the hashing.
    const key = cacheKey(
      this.keyable
        ? requestKey(identity, subject, facts, this.reads, path)
        : JSON.stringify(keyedRequest()),
    );
    const cached = this.cache.get(key);
    if (cached) return { ...cached, evaluated: request, cacheHit: true };
    // A new principal the policies cannot tell from one decided before shares its decision.
    const slice = this.slicer ? this.slicer.slice(request()) : 'all';
    const sharedText = this.shared.key(keyedRequest(), slice);
    const sharedKey = sharedText === undefined ? undefined : cacheKey(sharedText);
    const shared = sharedKey === undefined ? undefined : this.cache.get(sharedKey);
    if (shared) {
      this.cache.set(key, shared);
      return { ...shared, evaluated: request, cacheHit: true };
    }
    const result = Object.freeze(this.evaluate(request(), slice));
    // A result with evaluation errors is not reused: the error may be worth logging each time,
    // and a request Cedar refused (policy '') may be about state that changes.
    if (result.errors.length === 0) {
      this.cache.set(key, result);
      if (sharedKey !== undefined) this.cache.set(sharedKey, result);
    }
    return { ...result, evaluated: request };
  }

  private evaluate(request: CedarRequest, slice = this.slicer?.slice(request) ?? 'all'): EngineDecision {
    return this.slicer ? this.slicer.authorize(request, slice) : this.engine.authorize(request);
  }
}

/** Which of the set's path tests `path` passes, as one character each: `1` or `0`. */
function pathTestResults(tests: readonly ((path: string) => boolean)[], path: string): string {
  let results = '';
  for (const test of tests) results += test(path) ? '1' : '0';
  return results;
}

/** A key of the decision cache: the request's text when short, else its digest. */
function cacheKey(text: string): string {
  return text.length <= maxPlainKey ? text : `#${createHash('sha256').update(text).digest('base64')}`;
}

/** The first of `names` that policies read, when they read any of them. */
function firstRead(names: Iterable<string>, read: 'all' | ReadonlySet<string>): string | undefined {
  for (const name of names) if (read === 'all' || read.has(name)) return name;
  return undefined;
}

/** Query keys (percent-decoded, as policies see them) given more than one distinct value. */
function repeatedQueryKeys(query: string): Set<string> {
  const seen = new Map<string, string>();
  const repeated = new Set<string>();
  for (const [key, value] of new URLSearchParams(query)) {
    const first = seen.get(key);
    if (first === undefined) seen.set(key, value);
    else if (first !== value) repeated.add(key);
  }
  return repeated;
}
