import { planProcesses, type PlanInput } from '../../src/serve/process-plan.js';

const mib = 2 ** 20;

describe('planProcesses', () => {
  test.each<[string, PlanInput, { workers: number; workersFrom: string; budgetMiB: number; budgetFrom: string; oldSpaceMiB: number }]>([
    ['2 cores, no limits (the bench machine): one process within the default 400 MiB', { cores: 2, limits: {} }, { workers: 1, workersFrom: 'memory budget', budgetMiB: 400, budgetFrom: 'default', oldSpaceMiB: 256 }],
    ['16 cores, no limits: still one process, not 16', { cores: 16, limits: {} }, { workers: 1, workersFrom: 'memory budget', budgetMiB: 400, budgetFrom: 'default', oldSpaceMiB: 256 }],
    ['the shipped Deployment: 1 CPU, 512 MiB', { cores: 16, limits: { cpus: 1, memoryBytes: 512 * mib } }, { workers: 1, workersFrom: 'cpu limit', budgetMiB: 409, budgetFrom: 'container limit', oldSpaceMiB: 256 }],
    ['16 cores, 2 GiB: six workers and a primary fit in 80% of it', { cores: 16, limits: { memoryBytes: 2048 * mib } }, { workers: 6, workersFrom: 'memory budget', budgetMiB: 1638, budgetFrom: 'container limit', oldSpaceMiB: 256 }],
    ['16 cores, 4 CPUs, 4 GiB: the CPU limit holds it to four', { cores: 16, limits: { cpus: 4, memoryBytes: 4096 * mib } }, { workers: 4, workersFrom: 'cpu limit', budgetMiB: 3276, budgetFrom: 'container limit', oldSpaceMiB: 397 }],
    ['a CPU limit of 1.5 rounds up to two workers', { cores: 8, limits: { cpus: 1.5, memoryBytes: 4096 * mib } }, { workers: 2, workersFrom: 'cpu limit', budgetMiB: 3276, budgetFrom: 'container limit', oldSpaceMiB: 795 }],
    ['2 cores and room for more: the cores', { cores: 2, limits: {}, memoryBudgetMiB: 1024 }, { workers: 2, workersFrom: 'cores', budgetMiB: 1024, budgetFrom: 'config', oldSpaceMiB: 256 }],
    ['memoryBudgetMiB wins over the container limit', { cores: 4, limits: { memoryBytes: 8192 * mib }, memoryBudgetMiB: 400 }, { workers: 1, workersFrom: 'memory budget', budgetMiB: 400, budgetFrom: 'config', oldSpaceMiB: 256 }],
    ['a budget below one worker still starts one', { cores: 4, limits: { memoryBytes: 200 * mib } }, { workers: 1, workersFrom: 'memory budget', budgetMiB: 160, budgetFrom: 'container limit', oldSpaceMiB: 256 }],
    ['workers from the config win over both limits, the old space never below 256 MiB', { cores: 2, limits: { cpus: 1, memoryBytes: 512 * mib }, workers: 4 }, { workers: 4, workersFrom: 'config', budgetMiB: 409, budgetFrom: 'container limit', oldSpaceMiB: 256 }],
    ['a CPU limit under one core still starts one', { cores: 4, limits: { cpus: 0.25 }, memoryBudgetMiB: 4096 }, { workers: 1, workersFrom: 'cpu limit', budgetMiB: 4096, budgetFrom: 'config', oldSpaceMiB: 2048 }],
  ])('%s', (_name, input, expected) => {
    expect(planProcesses(input)).toEqual({ ...expected, semiSpaceMiB: 16 });
  });
});
