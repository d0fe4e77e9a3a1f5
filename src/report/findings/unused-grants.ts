import type { MatrixCell } from '../access-matrix.js';
import type { ObservedUse } from '../observed-use.js';
import type { Finding } from './finding.js';

/**
 * Grants no allowed request used in the window, one finding per (principal, service): `medium`
 * when nothing of the grant was used, `low` when some actions were (e.g. GET used, HEAD never).
 */
export function unusedGrants(cells: readonly MatrixCell[], uses: readonly ObservedUse[]): Finding[] {
  const allowed = new Set(uses.filter((use) => use.allow > 0).map((use) => key(use.principal, use.service, use.action)));
  const pairs = new Map<string, MatrixCell[]>();
  for (const cell of cells) {
    const pair = `${cell.principal}\n${cell.service}`;
    const list = pairs.get(pair);
    if (list === undefined) pairs.set(pair, [cell]);
    else list.push(cell);
  }
  const findings: Finding[] = [];
  for (const pairCells of pairs.values()) {
    const first = pairCells[0]!;
    const used = pairCells.filter((cell) => allowed.has(key(cell.principal, cell.service, cell.action)));
    const unused = pairCells.filter((cell) => !used.includes(cell));
    if (unused.length === 0) continue;
    const policies = [...new Set(unused.flatMap((cell) => cell.policies))];
    const unusedActions = unused.map((cell) => cell.action);
    findings.push({
      kind: 'unused-grant',
      severity: used.length === 0 ? 'medium' : 'low',
      message:
        used.length === 0
          ? `${first.principal} may call ${first.service} (${unusedActions.join(', ')}) but never did in the window; granted by ${policies.join(', ')}`
          : `${first.principal} never used ${unusedActions.join(', ')} on ${first.service} (used: ${used.map((cell) => cell.action).join(', ')}); granted by ${policies.join(', ')}`,
      principal: first.principal,
      service: first.service,
      unusedActions,
      usedActions: used.map((cell) => cell.action),
      policies,
    });
  }
  return findings;
}

function key(principal: string, service: string, action: string): string {
  return `${principal}\n${service}\n${action}`;
}
