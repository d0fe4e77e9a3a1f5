import type { Readable } from 'node:stream';
import { parseDecisionLine, type LoggedDecision } from './log-line.js';
import { inWindow, type TimeWindow } from './window.js';

/** One decision log to read: a file, or standard input named `-`. */
export interface LogInput {
  readonly name: string;
  readonly stream: Readable;
}

export interface LogFileStats {
  readonly name: string;
  /** Every line, blank ones included. */
  readonly lines: number;
  /** Well-formed decisions inside the window. */
  readonly inWindow: number;
  readonly outsideWindow: number;
  readonly malformed: number;
  /** Decisions inside the window whose decision id was already read (from this log or another), dropped. */
  readonly duplicates: number;
}

export interface MalformedLine {
  readonly file: string;
  readonly line: number;
  readonly reason: string;
  /** The start of the line, cut to 120 characters. */
  readonly sample: string;
}

export interface LogReadResult {
  readonly files: readonly LogFileStats[];
  readonly malformed: {
    readonly count: number;
    readonly byReason: Readonly<Record<string, number>>;
    /** The first few malformed lines, to find them. */
    readonly examples: readonly MalformedLine[];
  };
}

export interface Progress {
  readonly file: string;
  /** Lines read so far, over all files. */
  readonly lines: number;
  readonly elapsedMs: number;
}

export interface ReadOptions {
  readonly onProgress?: (progress: Progress) => void;
  /** Least time between two progress reports. */
  readonly progressEveryMs?: number;
  readonly maxExamples?: number;
  /** The clock for progress reports; tests pass their own. */
  readonly clock?: () => number;
  readonly duplicateWindow?: DuplicateWindowLimits;
}

export interface DuplicateWindowLimits {
  /** Ids are forgotten once the merged read is this far past their decision's time. */
  readonly spanMs: number;
  /** And the oldest are forgotten past this many, whatever their time: memory stays bounded. */
  readonly maxIds: number;
}

/**
 * Copies of one decision (two overlapping exports of a replica's log) carry the same time, so in
 * the merged read they come next to each other: ten minutes of ids is ample, and the bound keeps
 * a fleet's busiest ten minutes to about 150 MiB (600,000 ids measured at 90 MiB of heap).
 */
export const defaultDuplicateWindow: DuplicateWindowLimits = Object.freeze({ spanMs: 10 * 60_000, maxIds: 1_000_000 });

// Reading the clock on every line would cost more than parsing it.
const clockEveryLines = 8192;

/**
 * Reads every log at once and feeds the aggregator their decisions merged by time (each log is
 * in the order its replica wrote it; the merge keeps the earliest head first), dropping a
 * decision whose id was read moments before (see DuplicateWindow). Malformed lines are counted
 * and kept as examples, lines outside the window skipped; neither stops the read. Each log holds
 * one chunk of parsed lines at a time, so memory grows with the number of logs, not their length.
 * A stream that fails (unreadable file, corrupt gzip) rejects with the log's name.
 */
export async function readDecisionLogs(inputs: readonly LogInput[], window: TimeWindow, aggregator: { add(decision: LoggedDecision): void }, options: ReadOptions = {}): Promise<LogReadResult> {
  const clock = options.clock ?? Date.now;
  const every = options.progressEveryMs ?? 2000;
  const maxExamples = options.maxExamples ?? 10;
  const started = clock();
  let lastReport = started;
  let total = 0;
  const byReason = new Map<string, number>();
  const examples: MalformedLine[] = [];

  const onLine = (cursor: Cursor, line: string): void => {
    cursor.lines += 1;
    total += 1;
    if (options.onProgress && total % clockEveryLines === 0) {
      const now = clock();
      if (now - lastReport >= every) {
        lastReport = now;
        options.onProgress({ file: cursor.name, lines: total, elapsedMs: now - started });
      }
    }
    if (isBlank(line)) return;
    const parsed = parseDecisionLine(line);
    if (!parsed.ok) {
      cursor.malformed += 1;
      byReason.set(parsed.reason, (byReason.get(parsed.reason) ?? 0) + 1);
      if (examples.length < maxExamples) examples.push({ file: cursor.name, line: cursor.lines, reason: parsed.reason, sample: line.slice(0, 120) });
      return;
    }
    if (!inWindow(window, parsed.value.timeMs)) {
      cursor.outside += 1;
      return;
    }
    cursor.pending.push(parsed.value);
  };

  const cursors = inputs.map((input, index) => new Cursor(input, index, onLine));
  try {
    const heap = new CursorHeap();
    for (const cursor of await Promise.all(cursors.map(async (cursor) => ((await cursor.fill()) ? cursor : undefined)))) if (cursor) heap.push(cursor);
    const seen = new DuplicateWindow(options.duplicateWindow ?? defaultDuplicateWindow);
    for (let cursor = heap.pop(); cursor !== undefined; cursor = heap.pop()) {
      const decision = cursor.take();
      if (seen.isDuplicate(decision)) cursor.duplicates += 1;
      else {
        cursor.inside += 1;
        aggregator.add(decision);
      }
      if (cursor.hasPending() || (await cursor.fill())) heap.push(cursor);
    }
  } catch (err) {
    for (const cursor of cursors) cursor.close();
    throw err;
  }
  const files = cursors.map((cursor): LogFileStats => ({ name: cursor.name, lines: cursor.lines, inWindow: cursor.inside, outsideWindow: cursor.outside, malformed: cursor.malformed, duplicates: cursor.duplicates }));
  const count = files.reduce((sum, file) => sum + file.malformed, 0);
  return { files, malformed: { count, byReason: Object.fromEntries(byReason), examples } };
}

/** One log in the merge: its chunks split into lines, the parsed decisions of the last chunk waiting to be merged. */
class Cursor {
  readonly name: string;
  lines = 0;
  inside = 0;
  outside = 0;
  malformed = 0;
  duplicates = 0;
  pending: LoggedDecision[] = [];
  private next = 0;
  private rest = '';
  private done = false;
  private readonly chunks: AsyncIterator<string | Buffer>;

  constructor(
    private readonly input: LogInput,
    readonly index: number,
    private readonly onLine: (cursor: Cursor, line: string) => void,
  ) {
    this.name = input.name;
    if (input.stream.readableEncoding === null) input.stream.setEncoding('utf8');
    this.chunks = input.stream[Symbol.asyncIterator]() as AsyncIterator<string | Buffer>;
  }

  hasPending(): boolean {
    return this.next < this.pending.length;
  }

  head(): LoggedDecision {
    return this.pending[this.next]!;
  }

  take(): LoggedDecision {
    return this.pending[this.next++]!;
  }

  /** Reads chunks until some decision is pending (true) or the log ends (false). */
  async fill(): Promise<boolean> {
    this.pending = [];
    this.next = 0;
    while (!this.done && this.pending.length === 0) {
      let step: IteratorResult<string | Buffer>;
      try {
        step = await this.chunks.next();
      } catch (err) {
        throw new Error(`${this.name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      if (step.done === true) {
        this.done = true;
        if (this.rest.length > 0) this.onLine(this, stripCr(this.rest));
        this.rest = '';
        break;
      }
      const text = this.rest + String(step.value);
      let from = 0;
      for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', from)) {
        this.onLine(this, stripCr(text.slice(from, at)));
        from = at + 1;
      }
      this.rest = text.slice(from);
    }
    return this.pending.length > 0;
  }

  close(): void {
    void this.chunks.return?.();
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** A binary min-heap of cursors by the time of their next decision, the earlier log first on a tie (a stable merge). */
class CursorHeap {
  private readonly items: Cursor[] = [];

  push(cursor: Cursor): void {
    const items = this.items;
    items.push(cursor);
    let at = items.length - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!before(items[at]!, items[parent]!)) break;
      [items[at], items[parent]] = [items[parent]!, items[at]!];
      at = parent;
    }
  }

  pop(): Cursor | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let at = 0;
      for (;;) {
        const left = 2 * at + 1;
        const right = left + 1;
        let least = at;
        if (left < items.length && before(items[left]!, items[least]!)) least = left;
        if (right < items.length && before(items[right]!, items[least]!)) least = right;
        if (least === at) break;
        [items[at], items[least]] = [items[least]!, items[at]!];
        at = least;
      }
    }
    return top;
  }
}

function before(a: Cursor, b: Cursor): boolean {
  const ta = a.head().timeMs;
  const tb = b.head().timeMs;
  return ta < tb || (ta === tb && a.index < b.index);
}

/**
 * The decision ids of the last `spanMs` of the merged read, at most `maxIds` of them: a decision
 * whose id is among them is a copy. Lines without an id are never dropped.
 */
export class DuplicateWindow {
  private readonly ids = new Set<string>();
  // The ids in the order stored, and their decisions' times: a queue, its head at `first`.
  private order: string[] = [];
  private times: number[] = [];
  private first = 0;
  private latestMs = -Infinity;

  constructor(private readonly limits: DuplicateWindowLimits) {}

  isDuplicate(decision: LoggedDecision): boolean {
    const id = decision.decisionId;
    if (id === undefined) return false;
    if (this.ids.has(id)) return true;
    if (decision.timeMs > this.latestMs) this.latestMs = decision.timeMs;
    // Already older than the span (a log out of time order): it would be forgotten at once.
    if (decision.timeMs < this.latestMs - this.limits.spanMs) return false;
    this.ids.add(id);
    this.order.push(id);
    this.times.push(decision.timeMs);
    this.evict();
    return false;
  }

  get size(): number {
    return this.ids.size;
  }

  private evict(): void {
    const oldest = this.latestMs - this.limits.spanMs;
    while (this.first < this.order.length && (this.ids.size > this.limits.maxIds || this.times[this.first]! < oldest)) {
      this.ids.delete(this.order[this.first]!);
      this.first += 1;
    }
    // Compact now and then rather than shift() on every eviction.
    if (this.first > 65_536 && this.first * 2 > this.order.length) {
      this.order = this.order.slice(this.first);
      this.times = this.times.slice(this.first);
      this.first = 0;
    }
  }
}

function isBlank(line: string): boolean {
  return line.length === 0 || line.trim().length === 0;
}
