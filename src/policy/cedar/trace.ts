import { isAuthorized, policyToText, type Expr, type PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import { errorMessage } from '../../errors.js';
import type { CedarRequest } from '../../core/cedar-request.js';
import type { PolicyEngine } from './engine.js';
import { messages } from './messages.js';

/** How one `when`/`unless` clause of a permit fared against a request. */
export interface ClauseTrace {
  /** The clause's position among the policy's conditions, from 0. */
  readonly index: number;
  readonly kind: 'when' | 'unless';
  /** The clause's expression as Cedar prints it. */
  readonly text: string;
  /** True when the clause lets the permit apply: a `when` that is true, an `unless` that is false. */
  readonly holds: boolean;
  /** Set when evaluating the clause failed (for example an absent attribute read without `has`). */
  readonly error?: string;
  /**
   * For a clause that does not hold and is a chain of `&&` (`when`) or `||` (`unless`): the part
   * that decided it (the first false one, or the first true one), as Cedar prints it.
   */
  readonly decidedBy?: string;
}

/** A permit whose scope matched a request: it applied (`satisfied`), or a condition stopped it. */
export interface PermitTrace {
  readonly id: string;
  readonly satisfied: boolean;
  readonly clauses: readonly ClauseTrace[];
}

/**
 * For `gatehouse check`: the permits whose scope (principal, action, resource) matches the
 * request, each with the verdict of every condition clause. Cedar evaluates the permit's scope
 * alone (the JSON form of the policy without its conditions), then each clause alone, under the
 * same schema and request as `authorize`, so a near miss names the condition to fix.
 */
export function tracePermits(engine: PolicyEngine, req: CedarRequest): { ok: true; permits: PermitTrace[] } | { ok: false; message: string } {
  const permits: { id: string; json: PolicyJson }[] = [];
  for (const policy of engine.policies) {
    if (policy.effect !== 'permit') continue;
    const json = engine.policyJson(policy.id);
    if (json === undefined) return { ok: false, message: `${policy.id}: not in the policy set` };
    permits.push({ id: policy.id, json: { ...json, annotations: {} } });
  }
  const withConditions = (json: PolicyJson, conditions: PolicyJson['conditions']): PolicyJson => ({ ...json, conditions });

  const scopes = evaluateEach(req, engine.schemaText, Object.fromEntries(permits.map((permit, p) => [`p${p}`, withConditions(permit.json, [])])));
  if (!scopes.ok) return scopes;
  const matched = permits.filter((_, p) => scopes.satisfied.has(`p${p}`));

  // Every clause alone, and every part of a chain (`a && b` of a `when`, `a || b` of an
  // `unless`) alone: a part has the same value alone as inside its chain, since Cedar
  // expressions have no side effects, so the first part that fails is the one that decided.
  const probes: Record<string, PolicyJson> = {};
  const chains = new Map<string, Expr[]>();
  matched.forEach((permit, p) => {
    permit.json.conditions.forEach((clause, c) => {
      probes[`p${p}c${c}`] = withConditions(permit.json, [clause]);
      const parts = chainParts(clause.body, clause.kind === 'when' ? '&&' : '||');
      if (parts.length < 2) return;
      chains.set(`p${p}c${c}`, parts);
      parts.forEach((body, k) => (probes[`p${p}c${c}k${k}`] = withConditions(permit.json, [{ kind: clause.kind, body }])));
    });
  });
  const results = evaluateEach(req, engine.schemaText, probes);
  if (!results.ok) return results;

  const traces = matched.map((permit, p): PermitTrace => {
    const clauses = permit.json.conditions.map((clause, c): ClauseTrace => {
      const key = `p${p}c${c}`;
      const holds = results.satisfied.has(key);
      const error = results.errors.get(key);
      const parts = chains.get(key);
      const deciding = holds || error !== undefined || parts === undefined ? -1 : parts.findIndex((_, k) => !results.satisfied.has(`${key}k${k}`));
      const decidedBy = deciding === -1 ? undefined : expressionText(parts![deciding]!);
      return { index: c, kind: clause.kind, text: expressionText(clause.body), holds, error, decidedBy };
    });
    return { id: permit.id, satisfied: clauses.every((clause) => clause.holds), clauses };
  });
  return { ok: true, permits: traces };
}

/** A permit's scope, in Cedar's JSON form, and which of its three parts match a request. */
export interface ScopeTrace {
  readonly id: string;
  readonly scope: Pick<PolicyJson, 'principal' | 'action' | 'resource'>;
  readonly principal: boolean;
  readonly action: boolean;
  readonly resource: boolean;
}

/**
 * For `gatehouse check`: every permit's principal, action and resource constraint evaluated by
 * Cedar alone against the request (the other two left open, conditions dropped), so `in` follows
 * the request's own entity hierarchy and action groups as it does in `authorize`.
 */
export function traceScopes(engine: PolicyEngine, req: CedarRequest): { ok: true; scopes: ScopeTrace[] } | { ok: false; message: string } {
  const all = { op: 'All' } as const;
  const permits: { id: string; json: PolicyJson }[] = [];
  const probes: Record<string, PolicyJson> = {};
  for (const policy of engine.policies) {
    if (policy.effect !== 'permit') continue;
    const stored = engine.policyJson(policy.id);
    if (stored === undefined) return { ok: false, message: `${policy.id}: not in the policy set` };
    const json: PolicyJson = { ...stored, annotations: {}, conditions: [] };
    const p = permits.push({ id: policy.id, json }) - 1;
    probes[`p${p}principal`] = { ...json, action: all, resource: all };
    probes[`p${p}action`] = { ...json, principal: all, resource: all };
    probes[`p${p}resource`] = { ...json, principal: all, action: all };
  }
  const results = evaluateEach(req, engine.schemaText, probes);
  if (!results.ok) return results;
  const holds = (key: string): boolean => results.satisfied.has(key);
  return {
    ok: true,
    scopes: permits.map(({ id, json }, p) => ({
      id,
      scope: { principal: json.principal, action: json.action, resource: json.resource },
      principal: holds(`p${p}principal`),
      action: holds(`p${p}action`),
      resource: holds(`p${p}resource`),
    })),
  };
}

/** Evaluates every policy of `set` on its own: which were satisfied, and which errored (with why). */
function evaluateEach(
  req: CedarRequest,
  schemaText: string,
  set: Record<string, PolicyJson>,
): { ok: true; satisfied: ReadonlySet<string>; errors: ReadonlyMap<string, string> } | { ok: false; message: string } {
  if (Object.keys(set).length === 0) return { ok: true, satisfied: new Set(), errors: new Map() };
  let answer: ReturnType<typeof isAuthorized>;
  try {
    answer = isAuthorized({ ...req, schema: schemaText, validateRequest: true, policies: { staticPolicies: set } });
  } catch (err) {
    return { ok: false, message: errorMessage(err) };
  }
  if (answer.type === 'failure') return { ok: false, message: messages(answer.errors) };
  const { reason, errors } = answer.response.diagnostics;
  return { ok: true, satisfied: new Set(reason), errors: new Map(errors.map((error) => [error.policyId, error.error.message])) };
}

/** `a && b && c` → [a, b, c] for `op` `&&` (Cedar's JSON nests to the left); anything else → [expr]. */
function chainParts(expr: Expr, op: '&&' | '||'): Expr[] {
  const node = (expr as Record<string, unknown>)[op] as { left: Expr; right: Expr } | undefined;
  return node === undefined ? [expr] : [...chainParts(node.left, op), ...chainParts(node.right, op)];
}

/** Cedar's own rendering of one expression. */
function expressionText(body: Expr): string {
  const all = { op: 'All' } as const;
  const answer = policyToText({ effect: 'permit', principal: all, action: all, resource: all, conditions: [{ kind: 'when', body }] });
  if (answer.type === 'failure') return JSON.stringify(body);
  const match = /\bwhen \{ ([\s\S]*) \};?$/.exec(answer.text.trim());
  return match?.[1] ?? answer.text;
}
