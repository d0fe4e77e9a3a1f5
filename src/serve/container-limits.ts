import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What the container may use, as its cgroup states it; a field is absent when no limit is set or none can be read. */
export interface ContainerLimits {
  /** Cores' worth of CPU time (a quota of 150000 per 100000 µs is 1.5). */
  readonly cpus?: number;
  readonly memoryBytes?: number;
}

/**
 * The CPU and memory limits of the cgroup this process runs in, from cgroup v2's `cpu.max` and
 * `memory.max`, else cgroup v1's `cpu/cpu.cfs_quota_us` with `cpu.cfs_period_us` and
 * `memory/memory.limit_in_bytes`. A container sees its own cgroup at /sys/fs/cgroup.
 * os.availableParallelism() sees the CPU affinity but not these.
 */
export function readContainerLimits(root = '/sys/fs/cgroup'): ContainerLimits {
  const file = (path: string): string | undefined => {
    try {
      return readFileSync(join(root, path), 'utf8');
    } catch {
      return undefined;
    }
  };
  const cpuMax = file('cpu.max');
  const memoryMax = file('memory.max');
  const cpus = cpuMax !== undefined ? parseCpuMax(cpuMax) : parseCfsQuota(file('cpu/cpu.cfs_quota_us'), file('cpu/cpu.cfs_period_us'));
  const memoryBytes = parseMemoryLimit(memoryMax ?? file('memory/memory.limit_in_bytes'));
  return { ...(cpus !== undefined ? { cpus } : {}), ...(memoryBytes !== undefined ? { memoryBytes } : {}) };
}

/** cgroup v2 `cpu.max`: "QUOTA PERIOD", or "max PERIOD" for no limit. */
export function parseCpuMax(text: string): number | undefined {
  const match = /^(\d+)\s+(\d+)\s*$/.exec(text.trim());
  return match ? share(Number(match[1]), Number(match[2])) : undefined;
}

/** cgroup v1: a quota of -1 is no limit. */
export function parseCfsQuota(quota: string | undefined, period: string | undefined): number | undefined {
  if (quota === undefined || period === undefined || !/^\d+$/.test(quota.trim()) || !/^\d+$/.test(period.trim())) return undefined;
  return share(Number(quota.trim()), Number(period.trim()));
}

/**
 * cgroup v2 `memory.max` ("max" for no limit) or v1 `memory.limit_in_bytes`, which states no
 * limit as a number near 2^63 rounded down to a page: anything from 2^60 bytes (an exbibyte) up
 * is read as no limit.
 */
export function parseMemoryLimit(text: string | undefined): number | undefined {
  const trimmed = text?.trim();
  if (trimmed === undefined || !/^\d+$/.test(trimmed)) return undefined;
  const bytes = Number(trimmed);
  return bytes > 0 && bytes < 2 ** 60 ? bytes : undefined;
}

function share(quota: number, period: number): number | undefined {
  return quota > 0 && period > 0 ? quota / period : undefined;
}
