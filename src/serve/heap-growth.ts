import v8 from 'node:v8';

/** `--heap-growing-percent=0`: V8's own rule (below a 2 GiB old space, about 30% past what is live). */
const v8Rule = 0;
/** Past this, fewer full collections save little more CPU (docs/performance.md, "V8's heap flags"). */
export const maxGrowthPercent = 200;
/** Less than this is about what V8's own rule allows: leave it to V8. */
const minGrowthPercent = 50;
/** Kept free of the budget for what V8 does not count in the old space (code, stacks, buffers in flight). */
export const growthMarginMiB = 32;

export interface HeapReading {
  readonly rssMiB: number;
  /** The old and young spaces as V8 has them now, and what of them is in use. */
  readonly heapTotalMiB: number;
  readonly heapUsedMiB: number;
}

/**
 * How far past what is in use V8 may let the heap grow before its next full collection, so that
 * the growth fits in what the process's memory budget leaves. Below a 2 GiB ceiling V8 allows
 * about 30%, and with it a busy process spends a fifth to a quarter of its CPU in full
 * collections of a small heap that could have grown; where the budget has room, this lets it.
 * The room must hold the heap twice over: a reload builds the new set beside the one serving.
 */
export function growthPercent(reading: HeapReading, budgetMiB: number): number {
  const room = budgetMiB - growthMarginMiB - reading.rssMiB;
  const ceiling = reading.heapTotalMiB + room;
  const used = Math.max(reading.heapUsedMiB, 1);
  // In steps of 25, so that a heap's ordinary ebb and flow does not change the flag each time.
  const percent = Math.floor((ceiling / (2 * used) - 1) * 4) * 25;
  return percent < minGrowthPercent ? v8Rule : Math.min(maxGrowthPercent, percent);
}

export interface HeapGrowth {
  /** The percent in force (0: V8's own rule). */
  readonly percent: number;
  stop(): void;
}

/**
 * Sets V8's heap growth from the budget's room once a second. The flag is read at each full
 * collection, so a change applies from the next one. An operator's own `--heap-growing-percent`
 * stands: nothing is started then.
 */
export function followHeapGrowth(budgetMiB: number, execArgv: readonly string[], everyMs = 1000): HeapGrowth | undefined {
  if (execArgv.some((flag) => /^--heap[-_]growing[-_]percent\b/.test(flag))) return undefined;
  let percent = v8Rule;
  const adjust = (): void => {
    const heap = v8.getHeapStatistics();
    const next = growthPercent({ rssMiB: process.memoryUsage.rss() / 2 ** 20, heapTotalMiB: heap.total_heap_size / 2 ** 20, heapUsedMiB: heap.used_heap_size / 2 ** 20 }, budgetMiB);
    if (next === percent) return;
    percent = next;
    v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
  };
  adjust();
  const timer = setInterval(adjust, everyMs);
  timer.unref();
  return {
    get percent() {
      return percent;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
