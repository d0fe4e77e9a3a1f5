import type { CedarEntity, CedarRequest, EntityUid } from '../../core/cedar-request.js';
import type { EngineDecision, PolicyEngine } from '../cedar/engine.js';
import { ScopeIndex } from './scope-index.js';
import { ref, scopeOf, type ActionTarget, type Ref, type Target } from './scope.js';

/**
 * Evaluates a request against only the policies whose scope can match it (docs/performance.md,
 * "Slicing"). Cedar tests a policy's scope before its conditions and a scope that does not hold
 * makes the policy false without an error, so the left-out policies can neither decide nor err:
 * the decision, the determining policies and the errors are those of the whole set.
 */
export class PolicySlicer {
  readonly #ids: readonly string[];
  readonly #index: ScopeIndex;
  readonly #actionGroups: ReturnType<PolicyEngine['actionAncestors']>;

  constructor(readonly engine: PolicyEngine) {
    this.#ids = engine.policies.map((policy) => policy.id);
    this.#index = new ScopeIndex(this.#ids.map((id) => scopeOf(engine.policyJson(id))));
    this.#actionGroups = engine.actionAncestors();
  }

  /** The ids, in the set's order, of the policies whose scope can match the request. */
  select(req: CedarRequest): string[] {
    const entities = new Map(req.entities.map((entity) => [ref(entity.uid.type, entity.uid.id), entity]));
    const action: ActionTarget = {
      ref: ref(req.action.type, req.action.id),
      groups: this.#actionGroups === undefined ? undefined : (this.#actionGroups.get(ref(req.action.type, req.action.id)) ?? new Set()),
    };
    return this.#index.select(target(req.principal, entities), action, target(req.resource, entities)).map((index) => this.#ids[index]!);
  }

  /**
   * The policies the request is evaluated against: its slice, or 'all' when the slice holds more
   * than half the set (it would save little and hold a second copy of most of it).
   */
  slice(req: CedarRequest): readonly string[] | 'all' {
    const ids = this.select(req);
    return ids.length * 2 > this.#ids.length ? 'all' : ids;
  }

  authorize(req: CedarRequest, slice = this.slice(req)): EngineDecision {
    return slice === 'all' ? this.engine.authorize(req) : this.engine.authorizeAmong(slice, req, 'serving');
  }
}

/**
 * The entity as Cedar's `in` sees it: its ancestors are the transitive parents through the
 * request's entities; an entity the request does not list has none (so Cedar sees none either).
 */
function target(uid: EntityUid, entities: ReadonlyMap<Ref, CedarEntity>): Target {
  const self = ref(uid.type, uid.id);
  const ancestors = new Set<Ref>();
  const pending = [...(entities.get(self)?.parents ?? [])];
  while (pending.length > 0) {
    const parent = pending.pop()!;
    const parentRef = ref(parent.type, parent.id);
    if (ancestors.has(parentRef)) continue;
    ancestors.add(parentRef);
    pending.push(...(entities.get(parentRef)?.parents ?? []));
  }
  return { type: uid.type, ref: self, ancestors };
}
