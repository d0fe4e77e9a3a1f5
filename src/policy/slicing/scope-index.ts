import { actionMatches, entityMatches, type ActionConstraint, type ActionTarget, type EntityConstraint, type Scope, type Target } from './scope.js';

/** Policies (by their position in the set) filed under one key of one part of the scope. */
type Buckets = Map<string, number[]>;

/**
 * The policies of a set filed by scope, three ways: by principal, by action and by resource
 * constraint. A request looks up, in each, only the keys its own entities could satisfy, takes the
 * part with the fewest candidates and checks the other two parts of each candidate's scope. The
 * cost grows with the candidates, not with the set.
 */
export class ScopeIndex {
  readonly #principals: Buckets = new Map();
  readonly #actions: Buckets = new Map();
  readonly #resources: Buckets = new Map();
  /** Stamps of the current selection, so a policy filed under several action keys is taken once. */
  readonly #seen: Uint32Array;
  #stamp = 0;

  constructor(readonly scopes: readonly Scope[]) {
    this.#seen = new Uint32Array(scopes.length);
    scopes.forEach((scope, index) => {
      file(this.#principals, entityKey(scope.principal), index);
      file(this.#resources, entityKey(scope.resource), index);
      for (const key of actionKeys(scope.action)) file(this.#actions, key, index);
    });
  }

  /** Positions, ascending, of every policy whose scope can hold for the request: exactly those Cedar could evaluate past the scope. */
  select(principal: Target, action: ActionTarget, resource: Target): number[] {
    const parts = [
      this.#candidates(this.#principals, targetKeys(principal)),
      this.#candidates(this.#resources, targetKeys(resource)),
      // Unknown action groups: any action scope may match, so this part cannot narrow anything.
      action.groups === undefined ? undefined : this.#candidates(this.#actions, actionTargetKeys(action)),
    ];
    const smallest = parts.reduce((best, part) => (part !== undefined && (best === undefined || size(part) < size(best)) ? part : best));
    this.#stamp = this.#stamp === 0xffffffff ? 1 : this.#stamp + 1;
    if (this.#stamp === 1) this.#seen.fill(0);
    const selected: number[] = [];
    for (const bucket of smallest!) {
      for (const index of bucket) {
        if (this.#seen[index] === this.#stamp) continue;
        this.#seen[index] = this.#stamp;
        const scope = this.scopes[index]!;
        if (entityMatches(scope.principal, principal) && entityMatches(scope.resource, resource) && actionMatches(scope.action, action)) selected.push(index);
      }
    }
    return selected.sort((a, b) => a - b);
  }

  #candidates(buckets: Buckets, keys: readonly string[]): number[][] {
    const found: number[][] = [];
    for (const key of keys) {
      const bucket = buckets.get(key);
      if (bucket !== undefined) found.push(bucket);
    }
    return found;
  }
}

function size(buckets: readonly (readonly number[])[]): number {
  let total = 0;
  for (const bucket of buckets) total += bucket.length;
  return total;
}

function file(buckets: Buckets, key: string, index: number): void {
  const bucket = buckets.get(key);
  if (bucket === undefined) buckets.set(key, [index]);
  else bucket.push(index);
}

// Keys: `*` any; `=R` equals R; `<R` in R; `:T` is T; `:T<R` is T in R. A type name cannot hold
// `<` and a reference starts with its type, so no two spellings meet.
function entityKey(constraint: EntityConstraint): string {
  switch (constraint.kind) {
    case 'any':
      return '*';
    case 'eq':
      return `=${constraint.ref}`;
    case 'in':
      return `<${constraint.ref}`;
    case 'is':
      return constraint.in === undefined ? `:${constraint.type}` : `:${constraint.type}<${constraint.in}`;
    default: {
      const never: never = constraint;
      return never;
    }
  }
}

/** Every key under which a policy that can match the target is filed. */
function targetKeys(target: Target): string[] {
  const within = [target.ref, ...target.ancestors];
  return ['*', `=${target.ref}`, `:${target.type}`, ...within.map((ref) => `<${ref}`), ...within.map((ref) => `:${target.type}<${ref}`)];
}

function actionKeys(constraint: ActionConstraint): string[] {
  switch (constraint.kind) {
    case 'any':
      return ['*'];
    case 'eq':
      return [`=${constraint.ref}`];
    case 'in':
      return [...new Set(constraint.refs)].map((ref) => `<${ref}`);
    default: {
      const never: never = constraint;
      return never;
    }
  }
}

function actionTargetKeys(action: ActionTarget): string[] {
  return ['*', `=${action.ref}`, `<${action.ref}`, ...[...(action.groups ?? [])].map((group) => `<${group}`)];
}
