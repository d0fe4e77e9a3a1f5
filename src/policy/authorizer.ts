import type { Authorizer, AuthorizeResult } from '../core/decide.js';
import type { Identity } from '../core/identity.js';
import type { RequestFacts } from '../core/request-facts.js';
import type { PolicyEngine } from './engine.js';
import { buildCedarRequest, knownActions, type EntityOptions } from './entities.js';

/** The core's Authorizer over one Cedar policy-set version. */
export class CedarAuthorizer implements Authorizer {
  readonly knownActions = knownActions;

  constructor(
    readonly engine: PolicyEngine,
    private readonly entityOptions: EntityOptions = {},
  ) {}

  get version(): string {
    return this.engine.version;
  }

  authorize(identity: Identity, facts: RequestFacts, path: { path: string; query: string }): AuthorizeResult {
    return this.engine.authorize(buildCedarRequest(identity, facts, path, this.entityOptions));
  }
}
