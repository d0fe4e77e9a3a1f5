import type { InventoryWorkload } from '../inventory.js';
import type { PrincipalActivity } from '../observed-use.js';
import type { Finding } from './finding.js';

/**
 * Workloads that made requests but are missing from the inventory. Users and the anonymous
 * caller are not inventory entries, so only `Workload::` principals count.
 */
export function unknownIdentities(workloads: readonly InventoryWorkload[], principals: readonly PrincipalActivity[]): Finding[] {
  const known = new Set(workloads.map((workload) => workload.principal));
  return principals
    .filter((activity) => activity.principal.startsWith('Workload::') && !known.has(activity.principal))
    .map((activity) => ({
      kind: 'unknown-identity',
      severity: activity.allow > 0 ? 'medium' : 'low',
      message: `${activity.principal} is not in the inventory but made ${activity.allow + activity.deny + activity.error} requests (${activity.allow} allowed, ${activity.deny} denied)`,
      principal: activity.principal,
      allow: activity.allow,
      deny: activity.deny,
      error: activity.error,
      firstSeen: activity.firstSeen,
      lastSeen: activity.lastSeen,
    }));
}
