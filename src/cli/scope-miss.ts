import type { ScopeTrace } from '../policy/cedar/trace.js';
import type { CedarRequest } from '../core/cedar-request.js';

type Scope = ScopeTrace['scope'];
type Part = 'principal' | 'action' | 'resource';
type Uid = { readonly type: string; readonly id: string };

/** A permit that would have matched the request's scope but for one part, and how that part differs. */
export interface ScopeMiss {
  readonly id: string;
  readonly part: Part;
  readonly explanation: string;
  /** Lower is likelier the permit the author meant: an action, then a name a few edits away. */
  readonly distance: number;
}

/**
 * The permits whose scope differs from the request in exactly one of principal, action and
 * resource: the commonest authoring mistakes (a misspelt service account, GET where POST was
 * meant, the wrong service), which a condition-level trace never reaches. A permit off in two
 * or more parts was written for other requests and is left out.
 */
export function scopeMisses(scopes: readonly ScopeTrace[], req: CedarRequest): ScopeMiss[] {
  const misses: ScopeMiss[] = [];
  for (const trace of scopes) {
    const failed = (['principal', 'action', 'resource'] as const).filter((part) => !trace[part]);
    if (failed.length !== 1) continue;
    const part = failed[0]!;
    const explanation = part === 'action' ? actionMiss(trace.scope.action, req.action) : entityMiss(part, trace.scope[part], req[part]);
    misses.push({ id: trace.id, part, explanation, distance: part === 'action' ? 0 : nameDistance(trace.scope[part], req[part]) });
  }
  // Stable: policies equally near keep the set's order.
  return misses.sort((a, b) => a.distance - b.distance);
}

/** Edits between the permit's named entity and the request's; a group or type test counts as far. */
function nameDistance(constraint: Scope['principal'] | Scope['resource'], asked: Uid): number {
  if (constraint.op !== '==' || !('entity' in constraint)) return Number.MAX_SAFE_INTEGER;
  const named = uidOf(constraint.entity);
  return named.type === asked.type ? editDistance(named.id, asked.id) : Number.MAX_SAFE_INTEGER;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

function actionMiss(constraint: Scope['action'], asked: Uid): string {
  const allowed = (() => {
    switch (constraint.op) {
      case '==':
        return 'entity' in constraint ? actionName(uidOf(constraint.entity)) : 'a template slot';
      case 'in':
        return 'entities' in constraint ? `one of ${constraint.entities.map((e) => actionName(uidOf(e))).join(', ')}` : `the actions in ${uidText(uidOf(constraint.entity))}`;
      case 'All':
        return 'every action';
      default: {
        const never: never = constraint;
        return never;
      }
    }
  })();
  return `action is ${asked.id || '(none)'}; the permit allows ${allowed}`;
}

function entityMiss(part: 'principal' | 'resource', constraint: Scope['principal'] | Scope['resource'], asked: Uid): string {
  const theirs = `the request's is ${uidText(asked)}`;
  switch (constraint.op) {
    case '==':
      return 'entity' in constraint ? `${part} differs: the permit names ${uidText(uidOf(constraint.entity))}; ${theirs}` : `${part} differs from a template slot`;
    case 'in':
      return 'entity' in constraint ? `${part} is not in ${uidText(uidOf(constraint.entity))}: ${theirs}` : `${part} is not in a template slot`;
    case 'is': {
      const within = constraint.in && 'entity' in constraint.in ? ` in ${uidText(uidOf(constraint.in.entity))}` : '';
      return `${part} is not a ${constraint.entity_type}${within}: ${theirs}`;
    }
    case 'All':
      return `${part} differs`;
    default: {
      const never: never = constraint;
      return never;
    }
  }
}

// Cedar's JSON writes an entity either bare or wrapped in `__entity`.
function uidOf(json: { __entity: Uid } | Uid): Uid {
  return '__entity' in json ? json.__entity : json;
}

function uidText(uid: Uid): string {
  return `${uid.type}::${JSON.stringify(uid.id)}`;
}

/** HTTP methods read better bare (`POST`); anything else keeps its Cedar form. */
function actionName(uid: Uid): string {
  return uid.type === 'Action' && /^[A-Z]+$/.test(uid.id) ? uid.id : uidText(uid);
}
