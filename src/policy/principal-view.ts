import type { Expr, PolicyJson } from './cedar/engine.js';
import { refOf, type Ref } from './slicing/scope.js';

/**
 * What a group of policies can tell apart about the request's principal, found by walking
 * Cedar's own parse of each policy. Policies that only test the principal's type, its
 * ancestors (`in Namespace::"shop"`), a few attributes (`principal.class`) and whether it is
 * one of the entities they name cannot tell two principals apart that agree on all of these:
 * Cedar is deterministic, so both get the same answer, and a decision made for one serves the
 * other (see authorizer.ts). Any other use of `principal` (compared with `context.actor`,
 * passed to a function, an expression form not known here) makes the group `opaque`.
 */
export type PrincipalView = 'opaque' | { readonly attributes: ReadonlySet<string> };

export function principalView(policies: readonly (PolicyJson | undefined)[]): PrincipalView {
  const attributes = new Set<string>();
  for (const policy of policies) {
    if (policy === undefined || !knownScope(policy.principal)) return 'opaque';
    for (const clause of policy.conditions) if (!visit(clause.body, attributes)) return 'opaque';
  }
  return { attributes };
}

/**
 * Every entity a policy names (in its principal scope or anywhere in its conditions). A principal
 * that is one of them may be told apart by `==` or `in` from every other, so its decisions are
 * never shared; any principal not named anywhere compares alike with every named entity.
 */
export function namedEntities(policies: readonly (PolicyJson | undefined)[]): Set<Ref> {
  const named = new Set<Ref>();
  for (const policy of policies) {
    if (policy === undefined) continue;
    const scope = policy.principal as { entity?: unknown; in?: { entity?: unknown } };
    for (const entity of [scope.entity, scope.in?.entity]) {
      const uid = refOf(entity);
      if (uid !== undefined) named.add(uid);
    }
    for (const clause of policy.conditions) collectLiterals(clause.body, named);
  }
  return named;
}

function knownScope(scope: PolicyJson['principal']): boolean {
  switch (scope.op) {
    case 'All':
      return true;
    case '==':
    case 'in':
      return 'entity' in scope;
    case 'is':
      return scope.in === undefined || 'entity' in scope.in;
    default:
      return false;
  }
}

/** Walks one expression; false when it uses the principal in a way this view cannot describe. */
function visit(expr: Expr, attributes: Set<string>): boolean {
  const entries = Object.entries(expr);
  if (entries.length !== 1) return false;
  const [op, operand] = entries[0]! as [string, unknown];
  switch (op) {
    case 'Value':
    case 'Slot':
      return true;
    case 'Var':
      return operand !== 'principal';
    case '.':
    case 'has': {
      const { left, attr } = operand as { left: Expr; attr: string | string[] };
      if (!isPrincipal(left)) return visit(left, attributes);
      attributes.add(typeof attr === 'string' ? attr : attr[0]!);
      return true;
    }
    case 'in':
    case '==':
    case '!=': {
      const { left, right } = operand as { left: Expr; right: Expr };
      // `principal in E`, `principal == E`: a test of the principal's identity and ancestors against
      // named entities, which namedEntities() keeps apart.
      if (isPrincipal(left) && namesEntities(right)) return true;
      if (op !== 'in' && isPrincipal(right) && namesEntities(left)) return true;
      return visit(left, attributes) && visit(right, attributes);
    }
    case 'is': {
      const node = operand as { left: Expr; in?: Expr };
      if (isPrincipal(node.left)) return node.in === undefined || namesEntities(node.in);
      return visit(node.left, attributes) && (node.in === undefined || visit(node.in, attributes));
    }
    case 'like':
      return visit((operand as { left: Expr }).left, attributes);
    case '!':
    case 'neg':
    case 'isEmpty':
      return visit((operand as { arg: Expr }).arg, attributes);
    case 'if-then-else': {
      const node = operand as { if: Expr; then: Expr; else: Expr };
      return visit(node.if, attributes) && visit(node.then, attributes) && visit(node.else, attributes);
    }
    case 'Record':
      return Object.values(operand as Record<string, Expr>).every((value) => visit(value, attributes));
    default:
      return children(op, operand)?.every((child) => visit(child, attributes)) ?? false;
  }
}

/** The operands of the binary forms, sets and extension calls; undefined for a form not known here. */
function children(op: string, operand: unknown): Expr[] | undefined {
  if (Array.isArray(operand)) return operand as Expr[];
  if (binary.has(op)) {
    const { left, right } = operand as { left: Expr; right: Expr };
    return [left, right];
  }
  return undefined;
}

const binary: ReadonlySet<string> = new Set(['<', '<=', '>', '>=', '&&', '||', '+', '-', '*', 'contains', 'containsAll', 'containsAny', 'getTag', 'hasTag']);

function isPrincipal(expr: Expr): boolean {
  return (expr as { Var?: unknown }).Var === 'principal';
}

/** An entity literal, or a set literal of them. */
function namesEntities(expr: Expr): boolean {
  const set = (expr as { Set?: unknown }).Set;
  if (Array.isArray(set)) return set.every((element) => literalEntity(element as Expr) !== undefined);
  return literalEntity(expr) !== undefined;
}

function literalEntity(expr: Expr): Ref | undefined {
  return refOf((expr as { Value?: unknown }).Value);
}

/** Every entity literal anywhere in the expression, found without knowing its forms. */
function collectLiterals(value: unknown, named: Set<Ref>): void {
  if (typeof value !== 'object' || value === null) return;
  const uid = '__entity' in value ? refOf(value) : undefined;
  if (uid !== undefined) named.add(uid);
  for (const child of Array.isArray(value) ? value : Object.values(value)) collectLiterals(child, named);
}
