import type { MatrixCell } from '../access-matrix.js';
import type { AnalyzedPolicy } from '../analyzed-policy.js';
import { coversNamespaces, isUnconstrained } from '../policy-scope.js';
import type { Finding, OverBroadReason } from './finding.js';

/**
 * Permits whose scope is open on the principal or the resource (`principal`, `resource`, or `is`
 * without `in`), and permits that give a `build`-class identity a namespace or more. `high`
 * when a build identity gets a namespace, or when the open scope has no condition to narrow it.
 */
export function overBroadPolicies(policies: readonly AnalyzedPolicy[], cells: readonly MatrixCell[], buildIdentities: ReadonlySet<string>): Finding[] {
  const findings: Finding[] = [];
  for (const policy of policies) {
    if (policy.effect !== 'permit') continue;
    const reasons: OverBroadReason[] = [];
    if (isUnconstrained(policy.scope.principal)) reasons.push('any-principal');
    if (isUnconstrained(policy.scope.resource)) reasons.push('any-resource');
    const builds = coversNamespaces(policy.scope.resource)
      ? [...new Set(cells.filter((cell) => buildIdentities.has(cell.principal) && cell.policies.includes(policy.id)).map((cell) => cell.principal))]
      : [];
    if (builds.length > 0) reasons.push('build-namespace-access');
    if (reasons.length === 0) continue;
    const open = reasons.filter((reason) => reason !== 'build-namespace-access').map((reason) => (reason === 'any-principal' ? 'any principal' : 'any resource'));
    const parts = [
      ...(open.length > 0 ? [`its scope admits ${open.join(' and ')}${policy.conditional ? ', narrowed only by its conditions' : ' with no condition'}`] : []),
      ...(builds.length > 0 ? [`it gives build identit${builds.length === 1 ? 'y' : 'ies'} ${builds.join(', ')} access across a namespace`] : []),
    ];
    findings.push({
      kind: 'over-broad-policy',
      severity: builds.length > 0 || (open.length > 0 && !policy.conditional) ? 'high' : 'medium',
      message: `permit ${policy.id}: ${parts.join('; ')}`,
      policy: policy.id,
      file: policy.file,
      line: policy.line,
      reasons,
      buildIdentities: builds,
    });
  }
  return findings;
}
