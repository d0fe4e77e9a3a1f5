import type { PolicyJson } from '../policy/cedar/engine.js';
import { ref, type Ref } from '../policy/slicing/scope.js';

/** `Type::"id"`, the spelling Cedar, the decision log, the slicer and this report use for an entity. */
export type EntityRef = Ref;

export const entityRef: (type: string, id: string) => EntityRef = ref;

/** The head of a policy: which principals, actions and resources it can apply to at all. */
export type EntityScope =
  | { readonly kind: 'any' }
  | { readonly kind: 'eq'; readonly entity: EntityRef }
  | { readonly kind: 'in'; readonly entity: EntityRef }
  | { readonly kind: 'is'; readonly type: string; readonly in: EntityRef | undefined }
  /** A template slot; static policies have none, so it only appears for sets this report does not model. */
  | { readonly kind: 'slot' };

export type ActionScope = { readonly kind: 'any' } | { readonly kind: 'eq'; readonly action: string } | { readonly kind: 'in'; readonly actions: readonly string[] };

export interface PolicyScope {
  readonly principal: EntityScope;
  readonly action: ActionScope;
  readonly resource: EntityScope;
}

/** An entity as a scope sees it: its type, its reference, and everything it is `in`. */
export interface ScopeTarget {
  readonly type: string;
  readonly ref: EntityRef;
  readonly ancestors: ReadonlySet<EntityRef>;
}

/** The action groups of the schema (docs/reference.md, "Cedar model"); a group not listed here is assumed to contain anything. */
const actionGroups: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['read', new Set(['GET', 'HEAD', 'OPTIONS'])],
  ['write', new Set(['POST', 'PUT', 'PATCH', 'DELETE'])],
]);

export function scopeOf(json: PolicyJson): PolicyScope {
  return { principal: entityScope(json.principal), action: actionScope(json.action), resource: entityScope(json.resource) };
}

/**
 * Whether the scope can hold for the target. Errs only towards "yes": a yes sends the request to
 * Cedar, which decides; a wrong "no" would hide access.
 */
export function entityScopeMatches(scope: EntityScope, target: ScopeTarget): boolean {
  switch (scope.kind) {
    case 'any':
    case 'slot':
      return true;
    case 'eq':
      return scope.entity === target.ref;
    case 'in':
      return scope.entity === target.ref || target.ancestors.has(scope.entity);
    case 'is':
      return scope.type === target.type && (scope.in === undefined || scope.in === target.ref || target.ancestors.has(scope.in));
    default: {
      const never: never = scope;
      return never;
    }
  }
}

export function actionScopeMatches(scope: ActionScope, action: string): boolean {
  switch (scope.kind) {
    case 'any':
      return true;
    case 'eq':
      return scope.action === action;
    case 'in':
      return scope.actions.some((member) => member === action || (actionGroups.get(member)?.has(action) ?? !knownMethod(member)));
    default: {
      const never: never = scope;
      return never;
    }
  }
}

/** True when the scope admits every principal (or resource) of some type: `principal`, or `principal is T` without `in`. */
export function isUnconstrained(scope: EntityScope): boolean {
  return scope.kind === 'any' || (scope.kind === 'is' && scope.in === undefined);
}

/** True when the resource scope covers a namespace or more rather than named services. */
export function coversNamespaces(scope: EntityScope): boolean {
  if (isUnconstrained(scope)) return true;
  if (scope.kind === 'in') return scope.entity.startsWith('Namespace::');
  return scope.kind === 'is' && scope.in !== undefined && scope.in.startsWith('Namespace::');
}

/** The scope as Cedar source, e.g. `principal in Namespace::"shop"`. */
export function scopeText(scope: PolicyScope): { principal: string; action: string; resource: string } {
  return { principal: entityScopeText('principal', scope.principal), action: actionScopeText(scope.action), resource: entityScopeText('resource', scope.resource) };
}

function entityScopeText(variable: string, scope: EntityScope): string {
  switch (scope.kind) {
    case 'any':
      return variable;
    case 'slot':
      return `${variable} (template slot)`;
    case 'eq':
      return `${variable} == ${scope.entity}`;
    case 'in':
      return `${variable} in ${scope.entity}`;
    case 'is':
      return scope.in === undefined ? `${variable} is ${scope.type}` : `${variable} is ${scope.type} in ${scope.in}`;
    default: {
      const never: never = scope;
      return never;
    }
  }
}

function actionScopeText(scope: ActionScope): string {
  switch (scope.kind) {
    case 'any':
      return 'action';
    case 'eq':
      return `action == ${entityRef('Action', scope.action)}`;
    case 'in':
      return scope.actions.length === 1
        ? `action in ${entityRef('Action', scope.actions[0]!)}`
        : `action in [${scope.actions.map((action) => entityRef('Action', action)).join(', ')}]`;
    default: {
      const never: never = scope;
      return never;
    }
  }
}

const methods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'TRACE']);

function knownMethod(action: string): boolean {
  return methods.has(action);
}

type UidJson = { __entity: { type: string; id: string } } | { type: string; id: string };

function refOf(uid: UidJson): EntityRef {
  const plain = '__entity' in uid ? uid.__entity : uid;
  return entityRef(plain.type, plain.id);
}

function entityScope(constraint: PolicyJson['principal'] | PolicyJson['resource']): EntityScope {
  switch (constraint.op) {
    case 'All':
      return { kind: 'any' };
    case '==':
      return 'entity' in constraint ? { kind: 'eq', entity: refOf(constraint.entity) } : { kind: 'slot' };
    case 'in':
      return 'entity' in constraint ? { kind: 'in', entity: refOf(constraint.entity) } : { kind: 'slot' };
    case 'is': {
      if (constraint.in === undefined) return { kind: 'is', type: constraint.entity_type, in: undefined };
      return 'entity' in constraint.in ? { kind: 'is', type: constraint.entity_type, in: refOf(constraint.in.entity) } : { kind: 'slot' };
    }
    default: {
      const never: never = constraint;
      return never;
    }
  }
}

function actionScope(constraint: PolicyJson['action']): ActionScope {
  switch (constraint.op) {
    case 'All':
      return { kind: 'any' };
    case '==':
      return 'entity' in constraint ? { kind: 'eq', action: idOf(constraint.entity) } : { kind: 'any' };
    case 'in':
      return 'entities' in constraint ? { kind: 'in', actions: constraint.entities.map(idOf) } : { kind: 'in', actions: [idOf(constraint.entity)] };
    default: {
      const never: never = constraint;
      return never;
    }
  }
}

function idOf(uid: UidJson): string {
  return '__entity' in uid ? uid.__entity.id : uid.id;
}
