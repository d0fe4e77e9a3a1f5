import { LRUCache } from 'lru-cache';
import type { CedarEntity, CedarRecord, CedarRequest } from '../core/cedar-request.js';
import type { PolicyEngine } from './cedar/engine.js';
import { namedEntities, principalView, type PrincipalView } from './principal-view.js';
import { ref, type Ref } from './slicing/scope.js';

/**
 * Decisions shared between principals that the policies able to apply cannot tell apart (see
 * principal-view.ts). A new workload of a namespace that only namespace-wide policies speak of
 * is then decided like any other workload of it, without a call into Cedar: the exact decision
 * cache would miss on every new SPIFFE ID.
 *
 * The shared key is the request with the principal replaced by what the policies can see of it:
 * its type, its parents, the attributes they read, and the names and types of the rest (which
 * Cedar's request validation checks). It is made only for a principal no policy of the whole set
 * names, so the slice the request selects, which depends on nothing else of the principal, is
 * the same for every request with that key.
 */
export class SharedDecisions {
  readonly #named: ReadonlySet<Ref>;
  readonly #views = new LRUCache<string, PrincipalView>({ max: 1024 });
  #whole: PrincipalView | undefined;

  constructor(private readonly engine: PolicyEngine) {
    this.#named = namedEntities(engine.policies.map((policy) => engine.policyJson(policy.id)));
  }

  /**
   * The key under which the decision of `keyed` (the request as the exact cache keys it) serves
   * other principals, given the ids of the policies it is evaluated against ('all': the whole
   * set); undefined when the principal must be decided on its own.
   */
  key(keyed: CedarRequest, ids: readonly string[] | 'all'): string | undefined {
    const principal = keyed.principal;
    if (this.#named.has(ref(principal.type, principal.id))) return undefined;
    const actor = (keyed.context.actor as { __entity?: { type: string; id: string } } | undefined)?.__entity;
    if (actor !== undefined && actor.type === principal.type && actor.id === principal.id) return undefined;
    const view = this.#view(ids);
    if (view === 'opaque') return undefined;
    const entities = keyed.entities.map((entity) =>
      entity.uid.type === principal.type && entity.uid.id === principal.id ? seen(entity, view.attributes) : entity,
    );
    return `~${JSON.stringify({ ...keyed, principal: { type: principal.type, id: '' }, entities })}`;
  }

  #view(ids: readonly string[] | 'all'): PrincipalView {
    if (ids === 'all') return (this.#whole ??= principalView(this.engine.policies.map((policy) => this.engine.policyJson(policy.id))));
    // JSON, not ids joined by a separator: an id may hold any character, the separator too.
    const key = JSON.stringify(ids);
    let view = this.#views.get(key);
    if (view === undefined) {
      view = principalView(ids.map((id) => this.engine.policyJson(id)));
      this.#views.set(key, view);
    }
    return view;
  }
}

/** The principal's entity as the policies see it: no id, the attributes they read, the shape of the rest. */
function seen(entity: CedarEntity, read: ReadonlySet<string>): CedarRecord {
  const attrs: CedarRecord = {};
  const shape: string[] = [];
  for (const [name, value] of Object.entries(entity.attrs)) {
    // Values other than strings, numbers and booleans are kept whole: their shape is more than a type.
    if (read.has(name) || typeof value === 'object') attrs[name] = value;
    else shape.push(`${name}:${typeof value}`);
  }
  return { type: entity.uid.type, parents: entity.parents, attrs, shape, ...(entity.tags ? { tags: entity.tags } : {}) };
}
