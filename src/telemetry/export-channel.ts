import { Worker } from 'node:worker_threads';
import { errorMessage } from '../errors.js';
import { takenIndex, type CheckSpan, type DecisionItem, type ExportThreadOptions, type FromThread, type TelemetrySignal, type ToThread } from './export-records.js';

/**
 * Records handed to the export thread and not yet taken by it, per signal. Past this a new record
 * is dropped (and counted) at once: a thread that cannot keep up (starved of CPU, or stopped)
 * never grows the event loop's memory. The SDK's own queue in the thread is bounded as well.
 */
export const maxHandedOff = 2048;
/** Importing the SDK takes about a second, more on a busy machine. */
const startWaitMs = 30_000;
/** How long a shutdown waits for the thread's own (which waits 2 s for the collector). */
const shutdownWaitMs = 3000;

export interface ChannelDeps {
  readonly dropped: (signal: TelemetrySignal, count: number) => void;
  readonly exportFailed: (message: string) => void;
  readonly log: (message: string, meta: Record<string, unknown>) => void;
}

/**
 * The event loop's side of the export thread (export-thread.ts). A Check only appends to a
 * queue; once per turn of the event loop the queue goes to the thread in one message.
 */
export class ExportChannel {
  private logs: DecisionItem[] = [];
  private spans: CheckSpan[] = [];
  private scheduled = false;
  private stopped = false;
  /** Handed to the thread so far, per signal (int32, wrapping as the thread's counters do). */
  private readonly handed = [0, 0];
  private readonly taken: Int32Array;
  private readonly thread: Worker;
  private readonly shutDown: Promise<void>;
  private readonly ready: Promise<void>;

  /** A channel whose thread has loaded the SDK, so that no Check's records wait for that. */
  static async start(options: Omit<ExportThreadOptions, 'taken'>, deps: ChannelDeps): Promise<ExportChannel> {
    const channel = new ExportChannel(options, deps);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the telemetry export thread did not start within ${startWaitMs / 1000} s`)), startWaitMs)));
    try {
      await Promise.race([channel.ready, late]);
      return channel;
    } catch (err) {
      await channel.thread.terminate();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private constructor(
    options: Omit<ExportThreadOptions, 'taken'>,
    private readonly deps: ChannelDeps,
  ) {
    const taken = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
    this.taken = new Int32Array(taken);
    this.thread = new Worker(new URL('./export-thread.js', import.meta.url), {
      // No resourceLimits: the process's V8 heap flags (set by serve) stand for the thread too, and a
      // smaller young generation made the SDK's garbage cost more than its work (measured).
      workerData: { ...options, taken } satisfies ExportThreadOptions,
    });
    // The process may end without waiting for it: shutdown() is the orderly way.
    this.thread.unref();
    let started: () => void;
    let failed: (err: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      started = resolve;
      failed = reject;
    });
    this.shutDown = new Promise<void>((resolve) => {
      this.thread.on('message', (message: FromThread) => {
        if (message.kind === 'dropped') deps.dropped(message.signal, message.count);
        else if (message.kind === 'export-error') deps.exportFailed(message.message);
        else if (message.kind === 'ready') started();
        else resolve();
      });
      this.thread.on('error', (err) => {
        failed(new Error(`the telemetry export thread failed: ${errorMessage(err)}`));
        this.lost(errorMessage(err));
      });
      this.thread.on('exit', (code) => {
        failed(new Error(`the telemetry export thread exited with code ${code}`));
        if (!this.stopped) this.lost(`exited with code ${code}`);
        resolve();
      });
    });
  }

  log(item: DecisionItem): void {
    if (this.room('logs', this.logs.length)) this.logs.push(item);
  }

  span(span: CheckSpan): void {
    if (this.room('traces', this.spans.length)) this.spans.push(span);
  }

  /** Sends what is queued, lets the thread send what it holds (about 2 s at most), and stops it. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.flush();
    this.stopped = true;
    this.post({ kind: 'shutdown' });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.shutDown, new Promise<void>((resolve) => (timer = setTimeout(resolve, shutdownWaitMs)))]);
    clearTimeout(timer);
    this.dropUntaken();
    await this.thread.terminate();
  }

  private room(signal: TelemetrySignal, queued: number): boolean {
    if (!this.stopped && queued + this.untaken(signal) < maxHandedOff) {
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
      return true;
    }
    this.deps.dropped(signal, 1);
    return false;
  }

  private untaken(signal: TelemetrySignal): number {
    const index = takenIndex[signal];
    return (this.handed[index]! - Atomics.load(this.taken, index)) | 0;
  }

  private flush(): void {
    this.scheduled = false;
    if (this.stopped || (this.logs.length === 0 && this.spans.length === 0)) return;
    const message: ToThread = { kind: 'items', logs: this.logs, spans: this.spans };
    this.handed[takenIndex.logs] = (this.handed[takenIndex.logs]! + this.logs.length) | 0;
    this.handed[takenIndex.traces] = (this.handed[takenIndex.traces]! + this.spans.length) | 0;
    this.logs = [];
    this.spans = [];
    this.post(message);
  }

  private post(message: ToThread): void {
    this.thread.postMessage(message);
  }

  /** The thread is gone (it failed, or ran out of its heap): what it had not taken is lost, and so is every later record (counted). */
  private lost(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.deps.log('telemetry export thread stopped; records are dropped and counted in gatehouse_telemetry_dropped_total', { error: reason });
    this.dropUntaken();
    this.deps.dropped('logs', this.logs.length);
    this.deps.dropped('traces', this.spans.length);
    this.logs = [];
    this.spans = [];
  }

  private dropUntaken(): void {
    for (const signal of ['logs', 'traces'] as const) {
      const untaken = this.untaken(signal);
      if (untaken > 0) this.deps.dropped(signal, untaken);
      this.handed[takenIndex[signal]] = Atomics.load(this.taken, takenIndex[signal]);
    }
  }
}
