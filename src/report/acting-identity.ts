import type { Delegation } from '../core/identity.js';
import type { Inventory, InventoryUser, InventoryWorkload } from './inventory.js';
import { userRow, workloadRow, type ReviewIdentity } from './review-identity.js';

/** A delegation row: a principal whose authority a workload of the inventory presents. */
export interface ActingIdentity extends ReviewIdentity {
  readonly actor: string;
}

/**
 * Every (actor, principal) pair the inventory's `actsFor` lists, a group standing for each of
 * its people in the inventory, each pair once, in inventory order. The principal's identity
 * carries the actor as the server's would: a person's token (or a workload's) presented by the
 * actor over mTLS, so `context.actor` is the actor, with its class, and `context.delegation`
 * a chain of one.
 */
export function actingIdentities(inventory: Inventory): ActingIdentity[] {
  const workloads = new Map(inventory.workloads.map((workload) => [workload.spiffeId.toString(), workload]));
  return inventory.workloads.flatMap((actor) => {
    const principals = new Map<string, ReviewIdentity>();
    const add = (row: ReviewIdentity): void => {
      if (!principals.has(row.principal)) principals.set(row.principal, row);
    };
    for (const target of actor.actsFor) {
      switch (target.kind) {
        case 'user':
          inventory.users.filter((user) => user.id === target.id).forEach((user) => add(userRow(user)));
          break;
        case 'group':
          inventory.users.filter((user: InventoryUser) => user.groups.includes(target.name)).forEach((user) => add(userRow(user)));
          break;
        case 'workload': {
          const principal = workloads.get(target.spiffeId.toString());
          if (principal !== undefined) add(workloadRow(principal, 'jwt'));
          break;
        }
        default: {
          const never: never = target;
          return never;
        }
      }
    }
    return [...principals.values()].map((row) => actingFor(actor, row));
  });
}

function actingFor(actor: InventoryWorkload, row: ReviewIdentity): ActingIdentity {
  const delegation: Delegation = { actor: { kind: 'workload', spiffeId: actor.spiffeId, class: actor.class, authn: 'mtls' }, actors: [actor.spiffeId.toString()], depth: 1 };
  // Rows come from userRow and workloadRow only: nobody acts for the anonymous caller.
  const identity = row.identity.kind === 'anonymous' ? row.identity : { ...row.identity, delegation };
  return { ...row, actor: actor.principal, identity };
}
