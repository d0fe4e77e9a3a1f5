import type { InventoryWorkload } from '../inventory.js';
import type { PrincipalActivity } from '../observed-use.js';
import type { Finding } from './finding.js';

/**
 * Inventory workloads the server logged with another class (the decision log's `class`, what
 * Cedar saw after the `gatehouse.io/class` annotation). The matrix is computed with the
 * inventory's class, so it is wrong for them. `high` when the inventory says `build` and the
 * server did not treat it as one: guards against build jobs did not apply to it. Logs that carry
 * no class say nothing either way.
 */
export function classMismatches(workloads: readonly InventoryWorkload[], principals: readonly PrincipalActivity[]): Finding[] {
  const logged = new Map(principals.map((activity) => [activity.principal, activity.classes]));
  return workloads.flatMap((workload): Finding[] => {
    const classes = logged.get(workload.principal) ?? {};
    const others = Object.entries(classes).filter(([loggedClass]) => loggedClass !== workload.class);
    if (others.length === 0) return [];
    const described = others.map(([loggedClass, count]) => `"${loggedClass}" in ${count} ${count === 1 ? 'decision' : 'decisions'}`).join(', ');
    return [
      {
        kind: 'class-mismatch',
        severity: workload.class === 'build' ? 'high' : 'medium',
        message: `${workload.principal} is "${workload.class}" in the inventory but the server logged it as ${described}`,
        principal: workload.principal,
        inventoryClass: workload.class,
        loggedClasses: classes,
      },
    ];
  });
}
