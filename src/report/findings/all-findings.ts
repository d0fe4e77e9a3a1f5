import type { AccessMatrix } from '../access-matrix.js';
import type { ActingForEdge } from '../acting-for.js';
import type { AnalyzedPolicy } from '../analyzed-policy.js';
import type { Inventory } from '../inventory.js';
import type { ObservedSummary } from '../observed-use.js';
import type { UnknownService } from '../service-traffic.js';
import { actorClassMismatches } from './actor-class-mismatches.js';
import { classMismatches } from './class-mismatches.js';
import { delegatedWrites } from './delegated-writes.js';
import { sortFindings, type Finding } from './finding.js';
import { idlePolicies } from './idle-policies.js';
import { overBroadPolicies } from './over-broad-policies.js';
import { repeatedDenies } from './repeated-denies.js';
import { unknownIdentities } from './unknown-identities.js';
import { unknownServices } from './unknown-services.js';
import { unseenIdentities } from './unseen-identities.js';
import { unusedGrants } from './unused-grants.js';

export interface FindingInputs {
  readonly inventory: Inventory;
  readonly policies: readonly AnalyzedPolicy[];
  readonly matrix: AccessMatrix;
  /** Undefined when no log was given: findings about use need a log to mean anything. */
  readonly observed: ObservedSummary | undefined;
  /** Services the log names and the inventory does not; empty without a log. */
  readonly unknownServices: readonly UnknownService[];
  /** Who acted for whom; empty without a log. */
  readonly actingFor: readonly ActingForEdge[];
  /** Acting-for decisions per actor by the actor class the server logged; empty without a log. */
  readonly actorClasses: ReadonlyMap<string, Readonly<Record<string, number>>>;
  readonly denyThreshold: number;
}

export function allFindings(input: FindingInputs): Finding[] {
  const { inventory, policies, matrix, observed } = input;
  const builds = new Set(inventory.workloads.filter((workload) => workload.class === 'build').map((workload) => workload.principal));
  const findings = overBroadPolicies(policies, matrix.cells, builds);
  if (observed !== undefined) {
    const known = new Set(inventory.workloads.map((workload) => workload.principal));
    findings.push(
      ...delegatedWrites(input.actingFor),
      ...repeatedDenies(observed.principals, observed.uses, known, input.denyThreshold),
      ...classMismatches(inventory.workloads, observed.principals),
      ...actorClassMismatches(inventory.workloads, input.actorClasses),
      ...unknownIdentities(inventory.workloads, observed.principals),
      ...unknownServices(input.unknownServices),
      ...unusedGrants(matrix.cells, observed.uses),
      ...unseenIdentities(inventory.workloads, observed.principals),
      ...idlePolicies(policies, observed.policyDecisions),
    );
  }
  return sortFindings(findings);
}
