import { createInterface } from 'node:readline';
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
}

// Reading the clock on every line would cost more than parsing it.
const clockEveryLines = 8192;

/**
 * Streams each log line by line into the aggregator, in order. Malformed lines are counted and
 * kept as examples, lines outside the window skipped; neither stops the read. A stream that
 * fails (unreadable file) rejects with the file's name.
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
  const files: LogFileStats[] = [];

  for (const input of inputs) {
    let lines = 0;
    let inside = 0;
    let outside = 0;
    let malformed = 0;
    await forEachLine(input, (line) => {
      lines += 1;
      total += 1;
      if (options.onProgress && total % clockEveryLines === 0) {
        const now = clock();
        if (now - lastReport >= every) {
          lastReport = now;
          options.onProgress({ file: input.name, lines: total, elapsedMs: now - started });
        }
      }
      if (isBlank(line)) return;
      const parsed = parseDecisionLine(line);
      if (!parsed.ok) {
        malformed += 1;
        byReason.set(parsed.reason, (byReason.get(parsed.reason) ?? 0) + 1);
        if (examples.length < maxExamples) examples.push({ file: input.name, line: lines, reason: parsed.reason, sample: line.slice(0, 120) });
        return;
      }
      if (!inWindow(window, parsed.value.timeMs)) {
        outside += 1;
        return;
      }
      inside += 1;
      aggregator.add(parsed.value);
    });
    files.push({ name: input.name, lines, inWindow: inside, outsideWindow: outside, malformed });
  }
  const count = files.reduce((sum, file) => sum + file.malformed, 0);
  return { files, malformed: { count, byReason: Object.fromEntries(byReason), examples } };
}

/**
 * Calls `onLine` for every line, synchronously as readline splits each chunk: nothing queues
 * between reading and counting (as it would behind an async iterator), so memory stays flat.
 * Resolves at the end of the stream; rejects, naming the log, when the stream fails.
 */
function forEachLine(input: LogInput, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const reader = createInterface({ input: input.stream, crlfDelay: Infinity });
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      reader.close();
      reject(new Error(`${input.name}: ${err.message}`));
    };
    // readline passes its input's errors on as its own; without a listener they would be thrown.
    reader.on('error', fail);
    reader.on('line', onLine);
    reader.once('close', () => {
      if (settled) return;
      settled = true;
      resolve();
    });
  });
}

function isBlank(line: string): boolean {
  return line.length === 0 || line.trim().length === 0;
}
