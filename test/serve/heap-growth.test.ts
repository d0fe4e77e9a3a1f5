import v8 from 'node:v8';
import { followHeapGrowth, growthMarginMiB, growthPercent, maxGrowthPercent, type HeapReading } from '../../src/serve/heap-growth.js';

/** The heap's largest size before the next full collection with this percent (0: V8's own ~30%). */
const grownTo = (reading: HeapReading, percent: number): number => reading.heapUsedMiB * (1 + (percent === 0 ? 0.3 : percent / 100));

describe('growthPercent', () => {
  const cases: readonly { name: string; reading: HeapReading; budgetMiB: number; expected: number }[] = [
    { name: 'a small heap in a roomy budget grows as far as allowed', reading: { rssMiB: 180, heapTotalMiB: 50, heapUsedMiB: 30 }, budgetMiB: 400, expected: maxGrowthPercent },
    // 100 policies in the default budget: 40 MiB in use of a 60 MiB heap, 200 MiB resident.
    { name: '100 policies in the default budget', reading: { rssMiB: 200, heapTotalMiB: 60, heapUsedMiB: 40 }, budgetMiB: 400, expected: 175 },
    // 10,000 policies: most of the budget already resident; V8's own rule stays.
    { name: 'a large set near the budget keeps V8\'s own rule', reading: { rssMiB: 330, heapTotalMiB: 170, heapUsedMiB: 140 }, budgetMiB: 400, expected: 0 },
    { name: 'a process over its budget keeps V8\'s own rule', reading: { rssMiB: 450, heapTotalMiB: 60, heapUsedMiB: 40 }, budgetMiB: 400, expected: 0 },
    { name: 'some room: some growth, in steps of 25', reading: { rssMiB: 220, heapTotalMiB: 70, heapUsedMiB: 50 }, budgetMiB: 400, expected: 100 },
    { name: 'a share of a small budget', reading: { rssMiB: 150, heapTotalMiB: 50, heapUsedMiB: 40 }, budgetMiB: 200, expected: 0 },
    { name: 'an empty heap reading does not divide by zero', reading: { rssMiB: 100, heapTotalMiB: 0, heapUsedMiB: 0 }, budgetMiB: 400, expected: maxGrowthPercent },
  ];

  test.each(cases)('$name', ({ reading, budgetMiB, expected }) => {
    expect(growthPercent(reading, budgetMiB)).toBe(expected);
  });

  test('the growth it allows, twice over for a reload, fits in the budget', () => {
    for (let rss = 80; rss <= 500; rss += 10) {
      for (let total = 10; total < rss; total += 10) {
        for (let used = 5; used <= total; used += 5) {
          const reading = { rssMiB: rss, heapTotalMiB: total, heapUsedMiB: used };
          const percent = growthPercent(reading, 400);
          expect(percent % 25).toBe(0);
          expect(percent).toBeLessThanOrEqual(maxGrowthPercent);
          if (percent === 0) continue;
          expect(percent).toBeGreaterThanOrEqual(50);
          // A reload holds two sets: twice the heap, grown by the percent, within what the budget leaves.
          expect(rss - total + 2 * grownTo(reading, percent)).toBeLessThanOrEqual(400 - growthMarginMiB);
        }
      }
    }
  });
});

describe('followHeapGrowth', () => {
  afterEach(() => v8.setFlagsFromString('--heap-growing-percent=0'));

  test('leaves an operator\'s own --heap-growing-percent alone', () => {
    expect(followHeapGrowth(400, ['--heap-growing-percent=150'])).toBeUndefined();
    expect(followHeapGrowth(400, ['--heap_growing_percent', '150'])).toBeUndefined();
  });

  test('sets a percent from this process\'s own reading at once', () => {
    const heap = v8.getHeapStatistics();
    const reading = { rssMiB: process.memoryUsage.rss() / 2 ** 20, heapTotalMiB: heap.total_heap_size / 2 ** 20, heapUsedMiB: heap.used_heap_size / 2 ** 20 };
    const roomy = followHeapGrowth(reading.rssMiB + 10 * reading.heapTotalMiB + 200, []);
    const tight = followHeapGrowth(reading.rssMiB, []);
    try {
      expect(roomy?.percent).toBe(maxGrowthPercent);
      expect(tight?.percent).toBe(0);
    } finally {
      roomy?.stop();
      tight?.stop();
    }
  });
});
