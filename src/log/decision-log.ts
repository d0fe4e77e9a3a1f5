import winston from 'winston';
import Transport from 'winston-transport';
import { decisionLine } from './decision-line.js';
import type { DecisionRecord } from './decision-record.js';
import { LineWriter, type LossReport } from './line-writer.js';

export interface DecisionLogOptions {
  readonly stdout: boolean;
  readonly file: string;
}

/** Where serialized decision lines go: this process's destinations, or (in a worker) the primary. */
export interface LineSink {
  write(lines: readonly string[]): void;
  close(): Promise<void>;
  /**
   * Told the running number of records taken, synchronously, before the Check of the last one is
   * answered: a worker keeps it where its primary can read it after the worker is killed.
   */
  taken?(count: number): void;
}

/**
 * How long a record waits for others to share its batch. Each batch costs winston's plumbing and
 * a write whatever its size: at 20,000 Checks a second they cost 0.4-0.5 µs a line in batches of
 * 5 ms, against 0.9-1.4 µs in batches of 1 ms (docs/performance.md, ninth session).
 */
const flushMs = 5;
/**
 * A batch this long is handed on at the end of the event loop's turn rather than when its time is
 * up: past a few hundred lines a batch saves nothing more, and every record it holds longer is
 * one more for the garbage collector to find alive.
 */
const fullBatch = 256;

/**
 * Decision records as JSON lines. Checks only enqueue; records are serialized and handed to the
 * sink in batches at most 5 ms later, off the hot path. Every control and line-breaking character
 * is escaped (decision-line.ts), so no caller-supplied value can break a line or forge another.
 */
export class DecisionLog {
  private queue: DecisionRecord[] = [];
  private scheduled: NodeJS.Timeout | undefined;
  private soon: NodeJS.Immediate | undefined;
  private written = 0;
  private taken = 0;

  constructor(private readonly sink: LineSink | undefined) {}

  record(entry: DecisionRecord): void {
    if (!this.sink) return;
    this.queue.push(entry);
    this.taken += 1;
    this.sink.taken?.(this.taken);
    // Every few milliseconds rather than once a tick: under load a tick holds a few Checks, and each
    // batch costs a write to the destination (synchronous for a file on stdout) and its plumbing.
    this.scheduled ??= setTimeout(() => this.flush(), flushMs);
    if (this.queue.length >= fullBatch) this.soon ??= setImmediate(() => this.flush());
  }

  /** Records handed to the sink so far. */
  get count(): number {
    return this.written;
  }

  private flush(): void {
    clearTimeout(this.scheduled);
    this.scheduled = undefined;
    clearImmediate(this.soon);
    this.soon = undefined;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    this.sink?.write(batch.map(decisionLine));
    this.written += batch.length;
  }

  async close(): Promise<void> {
    this.flush();
    await this.sink?.close();
  }
}

/**
 * A winston transport over a LineWriter, so a slow or failing destination never blocks or bloats.
 * One winston entry carries a batch of lines: its format and stream plumbing cost per entry, not
 * per decision, while the writer still takes (and counts any loss of) each line on its own.
 */
class LineTransport extends Transport {
  constructor(readonly writer: LineWriter) {
    super();
  }

  override log(info: { lines?: readonly string[] }, next: () => void): void {
    this.writer.write(info.lines ?? []);
    next();
  }
}

/** The sink of a standalone server (or a primary): winston over stdout and/or a file. */
export function winstonSink(options: DecisionLogOptions, onLoss: (report: LossReport, destination: string) => void): LineSink | undefined {
  const writers: LineWriter[] = [];
  if (options.stdout) writers.push(new LineWriter({ kind: 'stdout' }, { onLoss: (r) => onLoss(r, 'stdout') }));
  if (options.file !== '') writers.push(new LineWriter({ kind: 'file', path: options.file }, { onLoss: (r) => onLoss(r, options.file) }));
  if (writers.length === 0) return undefined;
  const logger = winston.createLogger({
    level: 'info',
    // The transports read `lines`; without a format of its own winston would serialize the batch as JSON.
    format: winston.format.printf(() => ''),
    transports: writers.map((writer) => new LineTransport(writer)),
  });
  return {
    write(lines) {
      if (lines.length > 0) logger.log({ level: 'info', message: '', lines });
    },
    async close() {
      await Promise.all(writers.map((writer) => writer.close()));
    },
  };
}
