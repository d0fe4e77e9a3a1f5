import type { Identity, WorkloadClass } from '../core/identity.js';
import type { Inventory, InventoryService, InventoryUser, InventoryWorkload } from './inventory.js';
import { entityRef, type EntityRef, type ScopeTarget } from './policy-scope.js';

/** A row of the access matrix: an inventory workload or person, or the anonymous caller. */
export interface ReviewIdentity {
  /** `Workload::"spiffe://…"`, `User::"…"` or `Anonymous::"anonymous"`, as the decision log names it. */
  readonly principal: EntityRef;
  readonly class: WorkloadClass | 'user' | 'anonymous';
  readonly namespace: string | undefined;
  readonly inInventory: boolean;
  /** The identity Cedar requests are built for: a workload authenticated by mTLS, a person by a token, or no credential. */
  readonly identity: Identity;
  readonly target: ScopeTarget;
  /** For a delegation row (acting-identity.ts): the workload presenting the principal's authority. */
  readonly actor?: EntityRef;
}

export const anonymousPrincipal: EntityRef = entityRef('Anonymous', 'anonymous');

/**
 * The inventory's workloads, its people, then the anonymous caller: policies can grant access to
 * a request with no credential, and an access review must show it.
 */
export function reviewIdentities(inventory: Inventory): ReviewIdentity[] {
  const anonymous: ReviewIdentity = {
    principal: anonymousPrincipal,
    class: 'anonymous',
    namespace: undefined,
    inInventory: false,
    identity: { kind: 'anonymous' },
    target: { type: 'Anonymous', ref: anonymousPrincipal, ancestors: new Set() },
  };
  return [...inventory.workloads.map((workload) => workloadRow(workload, 'mtls')), ...inventory.users.map(userRow), anonymous];
}

/** A workload calling with its own credential (`mtls`), or whose token another workload presents (`jwt`). */
export function workloadRow(workload: InventoryWorkload, authn: 'mtls' | 'jwt'): ReviewIdentity {
  const kubernetes = workload.spiffeId.kubernetesParts();
  return {
    principal: workload.principal,
    class: workload.class,
    namespace: workload.namespace,
    inInventory: true,
    identity: { kind: 'workload', spiffeId: workload.spiffeId, class: workload.class, authn },
    // Cedar puts a workload in its namespace only when its SPIFFE ID says so (src/policy/entities.ts).
    target: { type: 'Workload', ref: workload.principal, ancestors: new Set(kubernetes ? [entityRef('Namespace', kubernetes.namespace)] : []) },
  };
}

/** A person with a verified token, in the groups the inventory gives them (Cedar puts a `User` in its `Group`s). */
export function userRow(user: InventoryUser): ReviewIdentity {
  return {
    principal: user.principal,
    class: 'user',
    namespace: undefined,
    inInventory: true,
    identity: { kind: 'user', issuer: user.issuer, subject: user.id, name: user.id, groups: user.groups },
    target: { type: 'User', ref: user.principal, ancestors: new Set(user.groups.map((group) => entityRef('Group', group))) },
  };
}

export function serviceTarget(service: InventoryService): ScopeTarget {
  return {
    type: 'Service',
    ref: entityRef('Service', service.name),
    ancestors: new Set(service.namespace === undefined ? [] : [entityRef('Namespace', service.namespace)]),
  };
}
