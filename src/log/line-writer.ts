import { open, stat, type FileHandle } from 'node:fs/promises';
import { errorMessage } from '../errors.js';

export interface LossReport {
  readonly lost: number;
  readonly reason: string;
}

export interface LineWriterOptions {
  /** Bytes held while the destination is slow or failing; past this, the oldest lines are dropped and counted. */
  readonly maxBufferedBytes?: number;
  readonly retryMs?: number;
  readonly onLoss?: (report: LossReport) => void;
}

/**
 * Appends lines to stdout or a file without ever letting a slow or broken destination stall
 * decisions or grow memory without bound. Writes are batched; a failing write (disk full,
 * file removed, permissions) is retried with the lines kept, and once more than the bound is
 * waiting, the oldest lines are dropped and reported, never silently.
 */
export class LineWriter {
  private pending: string[] = [];
  private pendingBytes = 0;
  private writing = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private handle: FileHandle | undefined;
  private closed = false;
  private idle: (() => void)[] = [];
  private readonly maxBufferedBytes: number;
  private readonly retryMs: number;

  constructor(
    private readonly target: { kind: 'stdout' } | { kind: 'file'; path: string },
    private readonly options: LineWriterOptions = {},
  ) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? 64 * 1024 * 1024;
    this.retryMs = options.retryMs ?? 1000;
  }

  /**
   * Takes a batch of lines at once (the decision log hands on a tick's lines together): a write
   * started by its first line would take that line alone, and the rest would cost a second write,
   * with its own checks of the file, once the first finished.
   */
  write(lines: readonly string[]): void {
    if (this.closed || lines.length === 0) return;
    for (const line of lines) {
      this.pending.push(line);
      this.pendingBytes += line.length + 1;
    }
    let dropped = 0;
    while (this.pendingBytes > this.maxBufferedBytes && this.pending.length > 1) {
      this.pendingBytes -= this.pending.shift()!.length + 1;
      dropped += 1;
    }
    if (dropped > 0) this.options.onLoss?.({ lost: dropped, reason: `more than ${this.maxBufferedBytes} bytes waiting to be written` });
    if (!this.writing && !this.retryTimer) void this.drain();
  }

  /** Writes what is waiting (one more attempt if the destination is failing), then stops. */
  async close(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.writing) await new Promise<void>((resolve) => this.idle.push(resolve));
    if (this.pending.length > 0) await this.drain();
    this.closed = true;
    if (this.pending.length > 0) this.options.onLoss?.({ lost: this.pending.length, reason: 'still unwritten at shutdown' });
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        const bytes = this.pendingBytes;
        this.pending = [];
        this.pendingBytes = 0;
        try {
          await this.append(`${batch.join('\n')}\n`);
        } catch (err) {
          // Keep the batch for the retry, in order, ahead of anything that arrived meanwhile.
          this.pending = batch.concat(this.pending);
          this.pendingBytes += bytes;
          this.options.onLoss?.({ lost: 0, reason: `write failed, retrying: ${errorMessage(err)}` });
          await this.handle?.close().catch(() => undefined);
          this.handle = undefined;
          if (!this.closed) {
            this.retryTimer = setTimeout(() => {
              this.retryTimer = undefined;
              void this.drain();
            }, this.retryMs);
            this.retryTimer.unref();
          }
          return;
        }
      }
    } finally {
      this.writing = false;
      for (const resolve of this.idle.splice(0)) resolve();
    }
  }

  private async append(text: string): Promise<void> {
    if (this.target.kind === 'stdout') {
      await new Promise<void>((resolve, reject) => process.stdout.write(text, (err) => (err ? reject(err) : resolve())));
      return;
    }
    if (this.handle && !(await this.stillAtPath(this.handle, this.target.path))) {
      await this.handle.close().catch(() => undefined);
      this.handle = undefined;
    }
    this.handle ??= await open(this.target.path, 'a');
    await this.handle.appendFile(text);
  }

  /**
   * Whether the open file is still the one at `path`. Once it was removed or replaced (its
   * directory deleted and made again, a rotation), appending to it would succeed and nobody
   * would ever read the lines: the file is opened afresh instead, or the write fails and retries.
   */
  private async stillAtPath(handle: FileHandle, path: string): Promise<boolean> {
    const [opened, named] = await Promise.all([handle.stat(), stat(path).catch(() => undefined)]);
    return named !== undefined && named.ino === opened.ino && named.dev === opened.dev;
  }
}
