import type { PolicyEngine } from '../policy/cedar/engine.js';
import { loadPolicies } from '../policy/loader.js';
import { formatProblem } from '../policy/problem.js';
import { probeCells, type EvaluationError, type ProbedCell } from './access-matrix.js';
import { diffAccess, type ChangedEdge, type ProbedMatrix } from './access-diff.js';
import { analyzePolicies, type AnalyzedPolicy } from './analyzed-policy.js';
import type { Inventory } from './inventory.js';
import { actingIdentities } from './acting-identity.js';
import { reviewIdentities } from './review-identity.js';
import { readInventory } from './read-inventory.js';

export interface DiffOptions {
  readonly oldDir: string;
  readonly newDir: string;
  readonly inventoryFile: string;
  readonly sourceIp: string;
}

/** What `gatehouse diff --format json` prints. */
export interface DiffJson {
  readonly format: 'gatehouse-access-diff/v1';
  readonly old: PolicySetRef;
  readonly new: PolicySetRef;
  /** `users`: people probed; `delegations`: (actor, principal) pairs its `actsFor` lists. */
  readonly inventory: { readonly file: string; readonly workloads: number; readonly users: number; readonly delegations: number; readonly services: number };
  readonly sourceIp: string;
  readonly granted: readonly ChangedEdge[];
  readonly revoked: readonly ChangedEdge[];
  /** Policy evaluation errors met on representative requests of either set (the first 100 of each). */
  readonly errors: { readonly old: readonly EvaluationError[]; readonly new: readonly EvaluationError[] };
  readonly summary: { readonly granted: number; readonly revoked: number };
}

export interface PolicySetRef {
  readonly dir: string;
  readonly version: string;
  readonly policies: number;
}

export type DiffOutcome = { ok: true; diff: DiffJson } | { ok: false; problems: readonly string[] };

/**
 * Loads both sets and the inventory (failing with every problem of each at once), asks both sets
 * the same representative requests, and lists the edges granted and revoked.
 */
export async function runDiff(options: DiffOptions): Promise<DiffOutcome> {
  const [oldSet, newSet, inventory] = await Promise.all([loadSet(options.oldDir), loadSet(options.newDir), readInventory(options.inventoryFile)]);
  if (!oldSet.ok || !newSet.ok || !inventory.ok) {
    return { ok: false, problems: [...(oldSet.ok ? [] : oldSet.problems), ...(newSet.ok ? [] : newSet.problems), ...(inventory.ok ? [] : inventory.problems)] };
  }
  const probePolicies = [...oldSet.policies, ...newSet.policies];
  const before = probedMatrix(oldSet, inventory.inventory, probePolicies, options.sourceIp);
  const after = probedMatrix(newSet, inventory.inventory, probePolicies, options.sourceIp);
  const { granted, revoked } = diffAccess(before.matrix, after.matrix);
  return {
    ok: true,
    diff: {
      format: 'gatehouse-access-diff/v1',
      old: setRef(options.oldDir, oldSet.engine),
      new: setRef(options.newDir, newSet.engine),
      inventory: {
        file: options.inventoryFile,
        workloads: inventory.inventory.workloads.length,
        users: inventory.inventory.users.length,
        delegations: actingIdentities(inventory.inventory).length,
        services: inventory.inventory.services.length,
      },
      sourceIp: options.sourceIp,
      granted,
      revoked,
      errors: { old: before.errors, new: after.errors },
      summary: { granted: granted.length, revoked: revoked.length },
    },
  };
}

interface LoadedSet {
  readonly ok: true;
  readonly engine: PolicyEngine;
  readonly policies: readonly AnalyzedPolicy[];
}

async function loadSet(dir: string): Promise<LoadedSet | { ok: false; problems: string[] }> {
  const loaded = await loadPolicies(dir);
  if (!loaded.ok) {
    const errors = loaded.problems.filter((problem) => problem.severity === 'error').map(formatProblem);
    return { ok: false, problems: [...errors, `${dir}: the policy set is invalid (run 'gatehouse validate --policies ${dir}')`] };
  }
  return { ok: true, engine: loaded.engine, policies: analyzePolicies(loaded.engine) };
}

/** The principals' own requests, then each delegation the inventory lists, asked of one set. */
function probedMatrix(set: LoadedSet, inventory: Inventory, probePolicies: readonly AnalyzedPolicy[], sourceIp: string): { matrix: ProbedMatrix; errors: EvaluationError[] } {
  const identities = [...reviewIdentities(inventory), ...actingIdentities(inventory)];
  const cells: ProbedCell[] = [];
  const { errors } = probeCells(set.engine, set.policies, identities, inventory.services, { sourceIp, probePolicies }, (cell) => cells.push(cell));
  return {
    matrix: { rows: identities.map(({ principal, actor }) => (actor === undefined ? { principal } : { principal, actor })), services: inventory.services.map((service) => service.name), cells },
    errors,
  };
}

function setRef(dir: string, engine: PolicyEngine): PolicySetRef {
  return { dir, version: engine.version, policies: engine.policies.length };
}
