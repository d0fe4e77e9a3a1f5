import type { InventoryWorkload } from '../inventory.js';
import type { Finding } from './finding.js';

/**
 * Inventory workloads the server logged, while they acted for someone, with another actor class
 * (`actorClass`, Cedar's `context.actor.class`) than the inventory's. Guards on the actor's class
 * (`build-jobs-never-act-in-shop`, `automation-acts-only-for-on-call`) judged it by the logged
 * class, and `diff` and the matrix by the inventory's, so one of them is wrong. `high` when the
 * inventory says `build` and the server did not treat it as one: a build job carried people's
 * authority past the guards meant for build jobs. Lines without `actorClass` say nothing.
 */
export function actorClassMismatches(workloads: readonly InventoryWorkload[], loggedClasses: ReadonlyMap<string, Readonly<Record<string, number>>>): Finding[] {
  return workloads.flatMap((workload): Finding[] => {
    const classes = loggedClasses.get(workload.principal) ?? {};
    const others = Object.entries(classes).filter(([loggedClass]) => loggedClass !== workload.class);
    if (others.length === 0) return [];
    const described = others.map(([loggedClass, count]) => `"${loggedClass}" in ${count} acting-for ${count === 1 ? 'decision' : 'decisions'}`).join(', ');
    return [
      {
        kind: 'actor-class-mismatch',
        severity: workload.class === 'build' ? 'high' : 'medium',
        message: `${workload.principal} is "${workload.class}" in the inventory but the server logged it acting for others as ${described}`,
        actor: workload.principal,
        inventoryClass: workload.class,
        loggedClasses: Object.fromEntries(Object.entries(classes).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))),
      },
    ];
  });
}
