import { join } from 'node:path';
import { parseCfsQuota, parseCpuMax, parseMemoryLimit, readContainerLimits } from '../../src/serve/container-limits.js';
import { projectRoot } from '../support/server-process.js';

const fixtures = join(projectRoot, 'test', 'fixtures', 'cgroup');

describe('readContainerLimits', () => {
  test.each([
    ['cgroup v2 with both limits', 'v2-limited', { cpus: 1.5, memoryBytes: 512 * 2 ** 20 }],
    ['cgroup v2 with "max" for both', 'v2-unlimited', {}],
    ['cgroup v2 with a CPU limit and no memory file', 'v2-cpu-only', { cpus: 0.5 }],
    ['cgroup v1 with both limits', 'v1-limited', { cpus: 2, memoryBytes: 2 ** 30 }],
    ['cgroup v1 with quota -1 and the near-2^63 "no limit"', 'v1-unlimited', {}],
    ['no limit files', 'none', {}],
    ['a directory that does not exist', 'missing', {}],
  ])('%s', (_name, dir, expected) => {
    expect(readContainerLimits(join(fixtures, dir))).toEqual(expected);
  });
});

describe('parseCpuMax', () => {
  test.each([
    ['200000 100000\n', 2],
    ['150000 100000', 1.5],
    ['max 100000', undefined],
    ['0 100000', undefined],
    ['100000 0', undefined],
    ['', undefined],
    ['1.5 1', undefined],
    ['200000', undefined],
  ])('%j → %s', (text, cpus) => {
    expect(parseCpuMax(text)).toBe(cpus);
  });
});

describe('parseCfsQuota', () => {
  test.each([
    ['100000', '100000', 1],
    ['50000', '100000', 0.5],
    ['-1', '100000', undefined],
    ['100000', undefined, undefined],
    [undefined, '100000', undefined],
    ['abc', '100000', undefined],
  ])('quota %j, period %j → %s', (quota, period, cpus) => {
    expect(parseCfsQuota(quota, period)).toBe(cpus);
  });
});

describe('parseMemoryLimit', () => {
  test.each([
    ['536870912\n', 536870912],
    ['max', undefined],
    ['9223372036854771712', undefined],
    ['0', undefined],
    ['-1', undefined],
    ['', undefined],
    [undefined, undefined],
    ['512M', undefined],
  ])('%j → %s', (text, bytes) => {
    expect(parseMemoryLimit(text)).toBe(bytes);
  });
});
