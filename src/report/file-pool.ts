import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

interface Entry {
  readonly handle: Promise<FileHandle>;
  /** Reads under way; an entry is closed to make room only when none is. */
  users: number;
}

/**
 * Positional reads of many files through at most `maxOpen` open handles. A file keeps its handle
 * between reads while there is room; past `maxOpen` files, the least recently read idle one is
 * closed and reopened when it is read again. So a merge of thousands of logs never meets the
 * process's open-file limit (EMFILE), and a merge of a few keeps each open once.
 */
export class FilePool {
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  private readonly entries = new Map<string, Entry>();
  private readonly waiting: (() => void)[] = [];
  private peak = 0;

  /**
   * `identities`: each path's file (device and inode) as it was when checked; a path first opened
   * here is held to the file it named then. A file replaced while the run goes on (rotated, or
   * swapped for a pipe or a device) fails its read rather than being read from someone else's offset.
   */
  constructor(
    readonly maxOpen: number,
    private readonly identities = new Map<string, string>(),
  ) {
    if (!Number.isInteger(maxOpen) || maxOpen < 1) throw new RangeError(`maxOpen must be a positive integer (got ${maxOpen})`);
  }

  /** Up to `length` bytes of `path` from `position`; fewer at the end of the file, none past it. */
  async read(path: string, position: number, length: number): Promise<Buffer> {
    const entry = await this.acquire(path);
    try {
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await (await entry.handle).read(buffer, 0, length, position);
      return buffer.subarray(0, bytesRead);
    } finally {
      this.release(entry);
    }
  }

  /** Closes the file's handle, if open: a file read to its end is not read again. */
  async forget(path: string): Promise<void> {
    const entry = this.entries.get(path);
    if (entry === undefined || entry.users > 0) return;
    this.entries.delete(path);
    await closeQuietly(entry);
    this.wakeOne();
  }

  /** The most handles that were open at once. */
  get peakOpen(): number {
    return this.peak;
  }

  get openNow(): number {
    return this.entries.size;
  }

  async close(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(entries.map(closeQuietly));
  }

  private async acquire(path: string): Promise<Entry> {
    for (;;) {
      const known = this.entries.get(path);
      if (known !== undefined) {
        this.entries.delete(path);
        this.entries.set(path, known);
        known.users += 1;
        await known.handle;
        return known;
      }
      if (this.entries.size >= this.maxOpen) {
        const idle = [...this.entries].find(([, entry]) => entry.users === 0);
        if (idle === undefined) {
          await new Promise<void>((resume) => this.waiting.push(resume));
          continue;
        }
        this.entries.delete(idle[0]);
        // Closed before the next opens, so the bound holds at every moment, not on average.
        await closeQuietly(idle[1]);
        continue;
      }
      const entry: Entry = { handle: openLog(path, this.identities), users: 1 };
      this.entries.set(path, entry);
      this.peak = Math.max(this.peak, this.entries.size);
      try {
        await entry.handle;
      } catch (err) {
        this.entries.delete(path);
        this.wakeOne();
        throw err;
      }
      return entry;
    }
  }

  private release(entry: Entry): void {
    entry.users -= 1;
    if (entry.users === 0) this.wakeOne();
  }

  private wakeOne(): void {
    this.waiting.shift()?.();
  }
}

/**
 * Opens a log for reading without blocking (a FIFO would wait for a writer), and only if it is a
 * regular file and, when `identities` knows the path, still the same file. Returns its identity too.
 */
export async function openLog(path: string, identities: Map<string, string>): Promise<FileHandle> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat({ bigint: true });
    if (!stat.isFile()) throw new Error('is not a regular file');
    const identity = `${stat.dev}:${stat.ino}`;
    const known = identities.get(path);
    if (known === undefined) identities.set(path, identity);
    else if (known !== identity) throw new Error('was replaced by another file while being read');
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}

async function closeQuietly(entry: Entry): Promise<void> {
  try {
    await (await entry.handle).close();
  } catch {
    // A handle that failed to open has nothing to close; one that fails to close is gone anyway.
  }
}
