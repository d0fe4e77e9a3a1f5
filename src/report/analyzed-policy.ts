import type { PolicyEngine, PolicyInfo } from '../policy/cedar/engine.js';
import { scopeOf, type PolicyScope } from './policy-scope.js';
import { requestProbes, type RequestProbes } from './request-probes.js';

/** A policy of the set with what the report reads from its JSON form. */
export interface AnalyzedPolicy {
  readonly id: string;
  readonly file: string;
  readonly line: number;
  readonly effect: 'permit' | 'forbid';
  readonly scope: PolicyScope;
  readonly probes: RequestProbes;
  /** Whether it has a `when` or `unless` clause. */
  readonly conditional: boolean;
}

const everything: PolicyScope = { principal: { kind: 'any' }, action: { kind: 'any' }, resource: { kind: 'any' } };

export function analyzePolicies(engine: PolicyEngine): AnalyzedPolicy[] {
  return engine.policies.map((policy) => analyzePolicy(policy, engine.policyJson(policy.id)));
}

/** A policy whose JSON form is unavailable (never, for a set the engine accepted) is taken to apply everywhere. */
function analyzePolicy(policy: PolicyInfo, json: ReturnType<PolicyEngine['policyJson']>): AnalyzedPolicy {
  const { id, file, line, effect } = policy;
  if (json === undefined) return { id, file, line, effect, scope: everything, probes: { paths: [], tags: [] }, conditional: true };
  return { id, file, line, effect, scope: scopeOf(json), probes: requestProbes(json), conditional: json.conditions.length > 0 };
}
