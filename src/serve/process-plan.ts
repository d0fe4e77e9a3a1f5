import type { ContainerLimits } from './container-limits.js';

/**
 * What one deciding process is planned at, and a primary (which decides nothing). Measured with
 * `npm run bench:memory` (one process, 16 MiB semi-space, 200 MiB old space then): 210-215 MiB at most
 * under the bench's loads at 1,000 policies, 272-300 MiB at 10,000, flat over a soak; a primary
 * 88 MiB idle.
 */
export const workerMiB = 256;
export const primaryMiB = 96;
/** The budget with no memory limit in sight (a VM, a bare machine). */
export const defaultBudgetMiB = 400;
/** The share of a container's memory limit gatehouse plans to use: the rest is headroom before the OOM killer. */
export const limitShare = 0.8;
/**
 * V8's young generation, per semi-space. Node 24 lets a busy process grow it to 64 MiB (128 MiB
 * resident for the pair, a process of 420-430 MiB). 16 MiB took about 20% less CPU per Check than
 * 8 on repeated and cache-miss traffic for 15 MiB more (docs/performance.md, "Memory").
 */
export const semiSpaceMiB = 16;
/**
 * The old generation never gets less than this, however many workers share a small budget: a
 * ceiling, not a reservation (between collections V8 lets the old space grow by about a third of
 * what is live, whatever the ceiling below 2 GiB). A reload of 10,000 policies holds two sets at
 * once: under a 200 MiB ceiling its preparse ran into collection after collection, 4.9-5.0 s and
 * one stall of 5 s, against 0.65-0.87 s under 256 (`bench/load-bench.ts`, docs/performance.md).
 */
export const minOldSpaceMiB = 256;

export interface PlanInput {
  /** os.availableParallelism(): the cores the CPU affinity allows. */
  readonly cores: number;
  readonly limits: ContainerLimits;
  /** `workers` from the config or the flag. */
  readonly workers?: number;
  /** `memoryBudgetMiB` from the config. */
  readonly memoryBudgetMiB?: number;
}

export interface ProcessPlan {
  /** Processes that decide; with more than one, a primary supervises them. */
  readonly workers: number;
  readonly budgetMiB: number;
  readonly budgetFrom: 'config' | 'container limit' | 'default';
  /** What held the worker count down when it was not configured (the CPU limit when both did). */
  readonly workersFrom: 'config' | 'cores' | 'cpu limit' | 'memory budget';
  readonly semiSpaceMiB: number;
  readonly oldSpaceMiB: number;
}

/**
 * How many workers to start and how large each may let V8's heap grow. Unless configured, the
 * workers are as many as the CPU allows (the affinity, and the container's CPU limit rounded up)
 * and the budget holds: n workers cost n × workerMiB, plus a primary once there are two or more.
 * One worker is always started, whatever the budget.
 */
export function planProcesses(input: PlanInput): ProcessPlan {
  const { budgetMiB, budgetFrom } = budget(input);
  const cpuLimit = input.limits.cpus === undefined ? Infinity : Math.max(1, Math.ceil(input.limits.cpus));
  const byCpu = Math.max(1, Math.min(input.cores, cpuLimit));
  // n workers fit when n × workerMiB + primaryMiB ≤ budget; one fits (or must do) in any budget.
  const byMemory = Math.max(1, Math.floor((budgetMiB - primaryMiB) / workerMiB));
  const workers = input.workers ?? Math.min(byCpu, byMemory);
  const workersFrom = input.workers !== undefined ? 'config' : byMemory < byCpu ? 'memory budget' : cpuLimit < input.cores ? 'cpu limit' : 'cores';
  const share = deciderBudgetMiB({ workers, budgetMiB });
  return { workers, budgetMiB, budgetFrom, workersFrom, semiSpaceMiB, oldSpaceMiB: Math.max(minOldSpaceMiB, Math.floor(share / 2)) };
}

/** One deciding process's share of the budget: all of it alone, else what the primary leaves, split. */
export function deciderBudgetMiB(plan: Pick<ProcessPlan, 'workers' | 'budgetMiB'>): number {
  return (plan.budgetMiB - (plan.workers > 1 ? primaryMiB : 0)) / plan.workers;
}

function budget(input: PlanInput): Pick<ProcessPlan, 'budgetMiB' | 'budgetFrom'> {
  if (input.memoryBudgetMiB !== undefined) return { budgetMiB: input.memoryBudgetMiB, budgetFrom: 'config' };
  if (input.limits.memoryBytes !== undefined) return { budgetMiB: Math.floor((input.limits.memoryBytes / 2 ** 20) * limitShare), budgetFrom: 'container limit' };
  return { budgetMiB: defaultBudgetMiB, budgetFrom: 'default' };
}
