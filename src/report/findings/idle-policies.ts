import type { AnalyzedPolicy } from '../analyzed-policy.js';
import type { Finding } from './finding.js';

/** Policies that determined no decision in the window: dead, shadowed, or guarding something that did not happen. */
export function idlePolicies(policies: readonly AnalyzedPolicy[], policyDecisions: ReadonlyMap<string, number>): Finding[] {
  return policies
    .filter((policy) => (policyDecisions.get(policy.id) ?? 0) === 0)
    .map((policy) => ({
      kind: 'idle-policy',
      severity: 'low',
      message:
        policy.effect === 'permit'
          ? `permit ${policy.id} allowed no request in the window`
          : `forbid ${policy.id} denied no request in the window (a guard that never fired may still be wanted)`,
      policy: policy.id,
      effect: policy.effect,
      file: policy.file,
      line: policy.line,
    }));
}
