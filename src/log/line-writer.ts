import { open, stat, type FileHandle } from 'node:fs/promises';
import { errorMessage } from '../errors.js';

/**
 * The most one write takes (a line longer than this is written alone): a decision log batch of
 * 5 ms at 20,000 Checks a second (about 45 KB) in one write, and a burst in writes of ~580 lines.
 */
const chunkBytes = 256 * 1024;
const newline = 0x0a;

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
  /** close() has begun: a failing write is not retried later, close's own attempt is the last. */
  private closing = false;
  private idle: (() => void)[] = [];
  private readonly maxBufferedBytes: number;
  private readonly retryMs: number;
  /** Where a write's lines are encoded; reused by every write (see encode). */
  private readonly chunk = Buffer.allocUnsafeSlow(chunkBytes);

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
    this.closing = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    while (this.writing) await new Promise<void>((resolve) => this.idle.push(resolve));
    if (this.pending.length > 0) await this.drain();
    this.closed = true;
    if (this.pending.length > 0) this.options.onLoss?.({ lost: this.pending.length, reason: 'still unwritten at shutdown' });
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
  }

  private async drain(): Promise<void> {
    // One drain at a time: two would take turns encoding into the one chunk.
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        this.pendingBytes = 0;
        let done = 0;
        try {
          while (done < batch.length) {
            const { count, bytes } = this.encode(batch, done);
            await this.append(bytes);
            done += count;
          }
        } catch (err) {
          // Keep what was not written for the retry, in order, ahead of anything that arrived meanwhile.
          const kept = batch.slice(done);
          this.pending = kept.concat(this.pending);
          for (const line of kept) this.pendingBytes += line.length + 1;
          this.options.onLoss?.({ lost: 0, reason: `write failed, retrying: ${errorMessage(err)}` });
          await this.handle?.close().catch(() => undefined);
          this.handle = undefined;
          if (!this.closing) {
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

  /**
   * Encodes lines from `batch[from]` on, each followed by a newline, into the reused chunk: as
   * many as fit, at least one (a line too long for the chunk is encoded alone, apart). A line
   * surely fits when 3 bytes per UTF-16 unit do; only near the chunk's end are its bytes counted.
   * One buffer, written and then reused, costs no allocation per write; joining a batch into one
   * string and encoding that cost a copy of each, and past ~128 KiB fresh memory for both, which
   * page faults made several times dearer per line (docs/performance.md, ninth session).
   */
  private encode(batch: readonly string[], from: number): { count: number; bytes: Buffer } {
    const chunk = this.chunk;
    let bytes = 0;
    let i = from;
    for (; i < batch.length; i++) {
      const line = batch[i]!;
      const room = chunk.length - bytes - 1;
      if (line.length * 3 > room && (line.length > room || Buffer.byteLength(line) > room)) {
        if (i === from) return { count: 1, bytes: Buffer.from(`${line}\n`) };
        break;
      }
      bytes += chunk.write(line, bytes, 'utf8');
      chunk[bytes++] = newline;
    }
    return { count: i - from, bytes: chunk.subarray(0, bytes) };
  }

  /**
   * Writes `bytes` whole before it resolves: the chunk they are in is reused after. Every write
   * to a file first checks that it is still the one at its path (a rotation can come between two
   * writes of one long batch).
   */
  private async append(bytes: Buffer): Promise<void> {
    if (this.target.kind === 'stdout') {
      await new Promise<void>((resolve, reject) => process.stdout.write(bytes, (err) => (err ? reject(err) : resolve())));
      return;
    }
    if (this.handle && !(await this.stillAtPath(this.handle, this.target.path))) {
      await this.handle.close().catch(() => undefined);
      this.handle = undefined;
    }
    this.handle ??= await open(this.target.path, 'a');
    await this.handle.appendFile(bytes);
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
