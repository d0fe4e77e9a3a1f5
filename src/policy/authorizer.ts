import { LRUCache } from 'lru-cache';
import type { Authorizer, AuthorizeResult } from '../core/decide.js';
import type { Identity } from '../core/identity.js';
import type { RequestFacts } from '../core/request-facts.js';
import type { PolicyEngine } from './engine.js';
import { buildCedarRequest, knownActions, type EntityOptions } from './entities.js';
import { policyReads, type PolicyReads } from './reads.js';

export interface AuthorizerOptions extends Omit<EntityOptions, 'reads'> {
  /** Decisions remembered per policy-set version; 0 turns the cache off. */
  readonly cacheSize?: number;
}

/**
 * The core's Authorizer over one Cedar policy-set version. Requests carry only what the set can
 * read (see reads.ts), and decisions are cached on exactly that request: Cedar is deterministic,
 * so an equal request under the same version gets the same answer.
 */
export class CedarAuthorizer implements Authorizer {
  readonly knownActions = knownActions;
  readonly reads: PolicyReads;
  private readonly cache: LRUCache<string, AuthorizeResult> | undefined;
  private readonly entityOptions: EntityOptions;

  constructor(
    readonly engine: PolicyEngine,
    options: AuthorizerOptions = {},
  ) {
    this.reads = policyReads(engine.policies.map((policy) => policy.text));
    this.entityOptions = { ...options, reads: this.reads };
    const size = options.cacheSize ?? 10_000;
    this.cache = size > 0 ? new LRUCache({ max: size }) : undefined;
  }

  get version(): string {
    return this.engine.version;
  }

  authorize(identity: Identity, facts: RequestFacts, path: { path: string; query: string }): AuthorizeResult {
    const request = buildCedarRequest(identity, facts, path, this.entityOptions);
    if (!this.cache) return this.engine.authorize(request);
    const key = JSON.stringify(request);
    const cached = this.cache.get(key);
    if (cached) return cached;
    const result = Object.freeze(this.engine.authorize(request));
    // A result with evaluation errors is not reused: the error may be worth logging each time,
    // and a request Cedar refused (policy '') may be about state that changes.
    if (result.errors.length === 0) this.cache.set(key, result);
    return result;
  }
}
