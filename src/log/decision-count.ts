import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';

/** The environment variable naming a worker's count file. */
export const decisionCountEnv = 'GATEHOUSE_DECISION_COUNT_FILE';

/**
 * A worker's count of decision records taken, kept in a file rather than in its memory: each
 * write reaches the kernel before the Check it counts is answered, so the count outlives a
 * SIGKILL and the primary can tell how many lines a dead worker owed it.
 */
export class DecisionCount {
  private readonly buffer = Buffer.alloc(8);
  private closed = false;

  private constructor(private readonly fd: number) {}

  static open(path: string): DecisionCount {
    return new DecisionCount(openSync(path, 'r+'));
  }

  /** After close a no-op: a Check finishing after a forced shutdown must not write to a reused descriptor. */
  set(count: number): void {
    if (this.closed) return;
    this.buffer.writeDoubleLE(count);
    writeSync(this.fd, this.buffer, 0, 8, 0);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

/** Makes the file a worker will count into, at 0. */
export function createDecisionCount(path: string): void {
  writeFileSync(path, Buffer.alloc(8));
}

export function readDecisionCount(path: string): number {
  const bytes = readFileSync(path);
  return bytes.length >= 8 ? bytes.readDoubleLE(0) : 0;
}
