import type { PolicyJson } from '../cedar/engine.js';

/** `Type::"id"`, one spelling for an entity wherever the slicer compares them. */
export type Ref = string;

export function ref(type: string, id: string): Ref {
  return `${type}::${JSON.stringify(id)}`;
}

/**
 * The principal or resource part of a policy's scope. `any` also stands for whatever cannot be
 * analysed (template slots, shapes this does not know): such a policy goes into every slice.
 */
export type EntityConstraint =
  | { readonly kind: 'any' }
  | { readonly kind: 'eq'; readonly ref: Ref }
  | { readonly kind: 'in'; readonly ref: Ref }
  | { readonly kind: 'is'; readonly type: string; readonly in: Ref | undefined };

/** `==` an action, or `in` one of several (each the action itself or a group holding it). */
export type ActionConstraint = { readonly kind: 'any' } | { readonly kind: 'eq'; readonly ref: Ref } | { readonly kind: 'in'; readonly refs: readonly Ref[] };

export interface Scope {
  readonly principal: EntityConstraint;
  readonly action: ActionConstraint;
  readonly resource: EntityConstraint;
}

/** An entity of the request: its type, its reference, and every entity it is `in` (itself excluded). */
export interface Target {
  readonly type: string;
  readonly ref: Ref;
  readonly ancestors: ReadonlySet<Ref>;
}

/** The action of the request and the groups it is in; `undefined` groups: unknown, so every action scope may match. */
export interface ActionTarget {
  readonly ref: Ref;
  readonly groups: ReadonlySet<Ref> | undefined;
}

export const anyScope: Scope = Object.freeze<Scope>({ principal: { kind: 'any' }, action: { kind: 'any' }, resource: { kind: 'any' } });

/** The scope of a policy from Cedar's JSON form of it; undefined JSON (not analysable) scopes everything. */
export function scopeOf(json: PolicyJson | undefined): Scope {
  if (json === undefined) return anyScope;
  return { principal: entityConstraint(json.principal), action: actionConstraint(json.action), resource: entityConstraint(json.resource) };
}

/**
 * Whether Cedar's scope test can hold for the target, with Cedar's own semantics: `in` is
 * reflexive and follows the request's entity hierarchy. Exact for what it models, "yes" for the rest.
 */
export function entityMatches(constraint: EntityConstraint, target: Target): boolean {
  switch (constraint.kind) {
    case 'any':
      return true;
    case 'eq':
      return constraint.ref === target.ref;
    case 'in':
      return constraint.ref === target.ref || target.ancestors.has(constraint.ref);
    case 'is':
      return constraint.type === target.type && (constraint.in === undefined || constraint.in === target.ref || target.ancestors.has(constraint.in));
    default: {
      const never: never = constraint;
      return never;
    }
  }
}

export function actionMatches(constraint: ActionConstraint, target: ActionTarget): boolean {
  if (target.groups === undefined) return true;
  switch (constraint.kind) {
    case 'any':
      return true;
    case 'eq':
      return constraint.ref === target.ref;
    case 'in':
      return constraint.refs.some((member) => member === target.ref || target.groups!.has(member));
    default: {
      const never: never = constraint;
      return never;
    }
  }
}

/**
 * The entity a JSON value names, `{ __entity: { type, id } }` or `{ type, id }` as Cedar's JSON
 * writes one; undefined for anything else.
 */
export function refOf(value: unknown): Ref | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const uid = '__entity' in value ? (value as { __entity: unknown }).__entity : value;
  if (typeof uid !== 'object' || uid === null) return undefined;
  const { type, id } = uid as { type?: unknown; id?: unknown };
  return typeof type === 'string' && typeof id === 'string' ? ref(type, id) : undefined;
}

const any: EntityConstraint = Object.freeze({ kind: 'any' });

// Every branch that meets a shape it does not know (a slot, a missing field) answers `any`.
function entityConstraint(constraint: PolicyJson['principal'] | PolicyJson['resource']): EntityConstraint {
  switch (constraint.op) {
    case 'All':
      return any;
    case '==':
    case 'in': {
      const target = 'entity' in constraint ? refOf(constraint.entity) : undefined;
      return target === undefined ? any : { kind: constraint.op === '==' ? 'eq' : 'in', ref: target };
    }
    case 'is': {
      if (typeof constraint.entity_type !== 'string') return any;
      if (constraint.in === undefined) return { kind: 'is', type: constraint.entity_type, in: undefined };
      const within = 'entity' in constraint.in ? refOf(constraint.in.entity) : undefined;
      return within === undefined ? any : { kind: 'is', type: constraint.entity_type, in: within };
    }
    default:
      return any;
  }
}

function actionConstraint(constraint: PolicyJson['action']): ActionConstraint {
  switch (constraint.op) {
    case 'All':
      return { kind: 'any' };
    case '==': {
      const target = 'entity' in constraint ? refOf(constraint.entity) : undefined;
      return target === undefined ? { kind: 'any' } : { kind: 'eq', ref: target };
    }
    case 'in': {
      const members = 'entities' in constraint ? constraint.entities.map(refOf) : [refOf(constraint.entity)];
      return members.every((member): member is Ref => member !== undefined) ? { kind: 'in', refs: members } : { kind: 'any' };
    }
    default:
      return { kind: 'any' };
  }
}
