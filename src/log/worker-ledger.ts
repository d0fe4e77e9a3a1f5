import { rmSync } from 'node:fs';
import { readDecisionCount } from './decision-count.js';

/**
 * The primary's account of one worker's decision lines. Each batch the worker sends carries the
 * running number of lines it has handed on (`last`), sent or dropped, so a gap is lines the
 * worker dropped; once the worker is gone, its count file says how many it took, and what never
 * arrived is lost with it. A line is counted in one of the two, never both.
 */
export class WorkerLedger {
  private seen = 0;

  /** `countFile` is undefined when the primary could not make one: losses at exit go uncounted. */
  constructor(private readonly countFile: string | undefined) {}

  /** A batch of `lines` lines ending at `last` arrived; returns how many the worker dropped before it. */
  received(last: number, lines: number): number {
    const dropped = last - this.seen - lines;
    this.seen = Math.max(this.seen, last);
    return Math.max(0, dropped);
  }

  /**
   * Call once the worker has exited and its channel is drained (every message it got into the
   * kernel has arrived): the lines it took and never delivered. Removes the count file.
   */
  settle(): number {
    if (this.countFile === undefined) return 0;
    const taken = readDecisionCount(this.countFile);
    rmSync(this.countFile, { force: true });
    return Math.max(0, taken - this.seen);
  }
}
