import type { InventoryWorkload } from '../inventory.js';
import type { PrincipalActivity } from '../observed-use.js';
import type { Finding } from './finding.js';

/** Inventory workloads with no decision in the window: retired, renamed, or quiet for longer than the window. */
export function unseenIdentities(workloads: readonly InventoryWorkload[], principals: readonly PrincipalActivity[]): Finding[] {
  const seen = new Set(principals.map((activity) => activity.principal));
  return workloads
    .filter((workload) => !seen.has(workload.principal))
    .map((workload) => ({
      kind: 'unseen-identity',
      severity: 'low',
      message: `${workload.principal} (${workload.class}) is in the inventory but made no request in the window`,
      principal: workload.principal,
      class: workload.class,
      namespace: workload.namespace ?? null,
    }));
}
