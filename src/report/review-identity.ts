import type { Identity, WorkloadClass } from '../core/identity.js';
import type { Inventory, InventoryService } from './inventory.js';
import { entityRef, type EntityRef, type ScopeTarget } from './policy-scope.js';

/** A row of the access matrix: an inventory workload, or the anonymous caller. */
export interface ReviewIdentity {
  /** `Workload::"spiffe://…"` or `Anonymous::"anonymous"`, as the decision log names it. */
  readonly principal: EntityRef;
  readonly class: WorkloadClass | 'anonymous';
  readonly namespace: string | undefined;
  readonly inInventory: boolean;
  /** The identity Cedar requests are built for: a workload authenticated by mTLS, or no credential. */
  readonly identity: Identity;
  readonly target: ScopeTarget;
}

export const anonymousPrincipal: EntityRef = entityRef('Anonymous', 'anonymous');

/**
 * The inventory's workloads, then the anonymous caller: policies can grant access to a request
 * with no credential, and an access review must show it.
 */
export function reviewIdentities(inventory: Inventory): ReviewIdentity[] {
  const workloads = inventory.workloads.map((workload): ReviewIdentity => {
    const kubernetes = workload.spiffeId.kubernetesParts();
    return {
      principal: workload.principal,
      class: workload.class,
      namespace: workload.namespace,
      inInventory: true,
      identity: { kind: 'workload', spiffeId: workload.spiffeId, class: workload.class, authn: 'mtls' },
      // Cedar puts a workload in its namespace only when its SPIFFE ID says so (src/policy/entities.ts).
      target: { type: 'Workload', ref: workload.principal, ancestors: new Set(kubernetes ? [entityRef('Namespace', kubernetes.namespace)] : []) },
    };
  });
  const anonymous: ReviewIdentity = {
    principal: anonymousPrincipal,
    class: 'anonymous',
    namespace: undefined,
    inInventory: false,
    identity: { kind: 'anonymous' },
    target: { type: 'Anonymous', ref: anonymousPrincipal, ancestors: new Set() },
  };
  return [...workloads, anonymous];
}

export function serviceTarget(service: InventoryService): ScopeTarget {
  return {
    type: 'Service',
    ref: entityRef('Service', service.name),
    ancestors: new Set(service.namespace === undefined ? [] : [entityRef('Namespace', service.namespace)]),
  };
}
