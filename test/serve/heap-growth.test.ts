import v8 from 'node:v8';
import { Metrics } from '../../src/transport/metrics.js';
import { followHeapGrowth, growthInForce, growthMarginMiB, growthPercent, maxGrowthPercent, nextGrowthPercent, type HeapReading } from '../../src/serve/heap-growth.js';

describe('growthPercent', () => {
  const cases: readonly { name: string; reading: HeapReading; budgetMiB: number; expected: number }[] = [
    { name: 'a small heap in a roomy budget grows as far as allowed', reading: { rssMiB: 180, heapTotalMiB: 50, heapUsedMiB: 30 }, budgetMiB: 400, expected: maxGrowthPercent },
    // 100 policies in the default budget: 40 MiB in use of a 60 MiB old generation, 200 MiB resident.
    { name: '100 policies in the default budget', reading: { rssMiB: 200, heapTotalMiB: 60, heapUsedMiB: 40 }, budgetMiB: 400, expected: 175 },
    { name: 'some room: some growth, in steps of 25', reading: { rssMiB: 220, heapTotalMiB: 70, heapUsedMiB: 50 }, budgetMiB: 400, expected: 100 },
    // 10,000 policies: most of the budget already resident; V8's own rule stays.
    { name: 'a large set near the budget keeps V8\'s own rule', reading: { rssMiB: 330, heapTotalMiB: 170, heapUsedMiB: 140 }, budgetMiB: 400, expected: 0 },
    { name: 'a process over its budget keeps V8\'s own rule, however empty its heap', reading: { rssMiB: 450, heapTotalMiB: 200, heapUsedMiB: 30 }, budgetMiB: 400, expected: 0 },
    { name: 'a process at its budget less the margin keeps V8\'s own rule', reading: { rssMiB: 400 - growthMarginMiB, heapTotalMiB: 200, heapUsedMiB: 10 }, budgetMiB: 400, expected: 0 },
    { name: 'a share of a small budget', reading: { rssMiB: 150, heapTotalMiB: 50, heapUsedMiB: 40 }, budgetMiB: 200, expected: 0 },
    { name: 'an empty heap reading does not divide by zero', reading: { rssMiB: 100, heapTotalMiB: 0, heapUsedMiB: 0 }, budgetMiB: 400, expected: maxGrowthPercent },
    { name: 'a budget that is not a number keeps V8\'s own rule', reading: { rssMiB: 100, heapTotalMiB: 50, heapUsedMiB: 30 }, budgetMiB: Number.NaN, expected: 0 },
  ];

  test.each(cases)('$name', ({ reading, budgetMiB, expected }) => {
    expect(growthPercent(reading, budgetMiB)).toBe(expected);
  });

  test('less room never means more growth, and a larger heap never more', () => {
    for (const budget of [200, 400, 800]) {
      for (let used = 5; used <= 200; used += 5) {
        let last = Infinity;
        for (let rss = 50; rss <= budget + 50; rss += 5) {
          const percent = growthPercent({ rssMiB: rss, heapTotalMiB: used + 20, heapUsedMiB: used }, budget);
          expect(percent).toBeLessThanOrEqual(last);
          expect([0, 50, 75, 100, 125, 150, 175, 200]).toContain(percent);
          last = percent;
        }
        expect(growthPercent({ rssMiB: 150, heapTotalMiB: used + 20, heapUsedMiB: used + 5 }, budget)).toBeLessThanOrEqual(growthPercent({ rssMiB: 150, heapTotalMiB: used + 20, heapUsedMiB: used }, budget));
      }
    }
  });
});

describe('nextGrowthPercent', () => {
  test.each([
    { current: 0, wanted: 50, next: 50, why: 'from V8\'s rule to the least growth offered' },
    { current: 0, wanted: 0, next: 0, why: 'no room, no change' },
    { current: 175, wanted: 200, next: 175, why: 'a little more room waits' },
    { current: 150, wanted: 200, next: 200, why: '50 more is followed' },
    { current: 200, wanted: 175, next: 175, why: 'less room is followed at once' },
    { current: 200, wanted: 0, next: 0, why: 'no room is followed at once' },
  ])('$why', ({ current, wanted, next }) => {
    expect(nextGrowthPercent(current, wanted)).toBe(next);
  });
});

describe('followHeapGrowth', () => {
  afterEach(() => v8.setFlagsFromString('--heap-growing-percent=0'));

  test.each([['--heap-growing-percent=150'], ['-heap-growing-percent=150'], ['--heap_growing_percent=150'], ['--heap-growing_percent=150'], ['--heap-growing-percent']])(
    'leaves an operator\'s own %s alone',
    (flag) => {
      expect(followHeapGrowth(400, ['--enable-source-maps', flag])).toBeUndefined();
    },
  );

  test('sets a percent from this process\'s own reading at once: the most with room, none without', () => {
    const roomy = followHeapGrowth(process.memoryUsage.rss() / 2 ** 20 + 4096, ['--heap-growing-percentage=1']);
    try {
      expect(growthInForce()).toBe(maxGrowthPercent);
    } finally {
      roomy?.stop();
    }
    expect(growthInForce()).toBe(0);
    const tight = followHeapGrowth(process.memoryUsage.rss() / 2 ** 20, []);
    try {
      expect(growthInForce()).toBe(0);
    } finally {
      tight?.stop();
    }
  });

  test('gatehouse_heap_growing_percent says the percent in force, and 0 once stopped', async () => {
    const metrics = new Metrics();
    const scraped = async (): Promise<string | undefined> => /^gatehouse_heap_growing_percent (\S+)$/m.exec(await metrics.registry.metrics())?.[1];
    expect(await scraped()).toBe('0');
    const roomy = followHeapGrowth(process.memoryUsage.rss() / 2 ** 20 + 4096, []);
    expect(await scraped()).toBe(String(maxGrowthPercent));
    roomy?.stop();
    expect(growthInForce()).toBe(0);
    expect(await scraped()).toBe('0');
  });
});
