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
  /**
   * The old generation (every space but the young one) as V8 has it now, and what of it is in
   * use: what the percent applies to. The young generation's garbage comes and goes with every
   * scavenge; it is in the resident size, not here.
   */
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
  if (!(room > 0)) return v8Rule;
  const ceiling = reading.heapTotalMiB + room;
  const used = Math.max(reading.heapUsedMiB, 1);
  // In steps of 25: a percent is a coarse choice, and nextGrowthPercent damps the rest.
  const percent = Math.floor((ceiling / (2 * used) - 1) * 4) * 25;
  return percent >= minGrowthPercent ? Math.min(maxGrowthPercent, percent) : v8Rule;
}

/**
 * The percent to set given the one in force: less room is followed at once, more only once it
 * allows 50 more, so that a heap's ordinary ebb and flow does not change the flag every second.
 */
export function nextGrowthPercent(current: number, wanted: number): number {
  if (wanted === v8Rule || (current !== v8Rule && wanted < current)) return wanted;
  return wanted >= (current === v8Rule ? minGrowthPercent : current + 50) ? wanted : current;
}

/** This process's reading: its resident size and its main thread's old generation. */
function readHeap(): HeapReading {
  let total = 0;
  let used = 0;
  for (const space of v8.getHeapSpaceStatistics()) {
    if (space.space_name === 'new_space' || space.space_name === 'new_large_object_space') continue;
    total += space.space_size;
    used += space.space_used_size;
  }
  return { rssMiB: process.memoryUsage.rss() / 2 ** 20, heapTotalMiB: total / 2 ** 20, heapUsedMiB: used / 2 ** 20 };
}

/**
 * The percent this process's follower last set; 0 when none runs (V8's own rule, or the
 * operator's flag). The flag is the process's, so this is too: one follower per process.
 */
let inForce = v8Rule;

export function growthInForce(): number {
  return inForce;
}

export interface HeapGrowth {
  /** Stops following and gives the growth back to V8's own rule. */
  stop(): void;
}

function setGrowth(percent: number): void {
  inForce = percent;
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/**
 * Sets V8's heap growth from the budget's room once a second. The flag is read at each full
 * collection, so a change applies from the next one. It is the process's: the policy-load and
 * telemetry threads grow by it too, and are counted only through the resident size the room is
 * taken from. An operator's own `--heap-growing-percent` stands: nothing is started then.
 */
export function followHeapGrowth(budgetMiB: number, execArgv: readonly string[], everyMs = 1000): HeapGrowth | undefined {
  // node takes V8 flags with one dash or two, and `-` or `_` between the words.
  if (execArgv.some((flag) => /^--?heap[-_]growing[-_]percent(=|$)/.test(flag))) return undefined;
  const adjust = (): void => {
    const next = nextGrowthPercent(inForce, growthPercent(readHeap(), budgetMiB));
    if (next !== inForce) setGrowth(next);
  };
  adjust();
  const timer = setInterval(adjust, everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      if (inForce !== v8Rule) setGrowth(v8Rule);
    },
  };
}
