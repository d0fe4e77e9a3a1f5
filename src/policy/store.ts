import { EventEmitter } from 'node:events';
import { errorMessage } from '../errors.js';
import { watch, type FSWatcher } from 'node:fs';
import { PolicyEngine } from './cedar/engine.js';
import { readPolicyDir } from './loader.js';
import type { PolicyProblem } from './problem.js';
import { policySetVersion } from './version.js';

export interface PolicyStoreOptions {
  /** How often the directory is re-read whatever the watcher says. */
  readonly pollIntervalMs?: number;
  /** Quiet time after a watcher event before reading, so one save that fires several events reads once. */
  readonly settleMs?: number;
  /** Threads a large set is parsed and validated in (see `PolicyEngine.load`; default there). */
  readonly loadThreads?: number;
}

export interface PolicyStoreEvents {
  reloaded: [version: string];
  reloadFailed: [problems: readonly PolicyProblem[]];
}

/**
 * The policy set in use, kept in step with a directory. A new set is built aside and swapped
 * in only when it is entirely valid; until then the last good set stays in use.
 *
 * Changes are noticed two ways. fs.watch on the directory reacts within milliseconds to edits,
 * rename-on-save and a ConfigMap's `..data` swap, but it misses some cases (a file edited through
 * a symlink, a directory deleted and made again, network file systems). A poll that re-reads the
 * texts and compares their version catches everything within one interval.
 */
export class PolicyStore extends EventEmitter<PolicyStoreEvents> {
  private engine: PolicyEngine | undefined;
  private problems: readonly PolicyProblem[] | undefined;
  /** Version (or problems) of the texts last acted on, so an unchanged directory is not rebuilt. */
  private seen: string | undefined;
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private settle: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private rerun = false;
  private stopped = false;
  private readonly pollIntervalMs: number;
  private readonly settleMs: number;
  private readonly loadThreads: number | undefined;

  constructor(
    readonly dir: string,
    options: PolicyStoreOptions = {},
  ) {
    super();
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.settleMs = options.settleMs ?? 50;
    this.loadThreads = options.loadThreads;
  }

  /** Loads the directory once, then follows it. Resolves whether or not the first load was valid. */
  async start(): Promise<void> {
    await this.refresh();
    if (this.stopped) return;
    this.watchDir();
    this.poll = setInterval(() => {
      this.watchDir();
      void this.refresh();
    }, this.pollIntervalMs);
    this.poll.unref();
  }

  /** The set to decide with; undefined until a valid set has loaded. */
  current(): PolicyEngine | undefined {
    return this.engine;
  }

  /** Problems of the latest attempt when it failed; undefined once a set has loaded since. */
  lastError(): readonly PolicyProblem[] | undefined {
    return this.problems;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.poll);
    clearTimeout(this.settle);
    this.unwatch();
  }

  // A missing directory cannot be watched yet; the poll calls again until it can.
  private watchDir(): void {
    if (this.watcher !== undefined || this.stopped) return;
    try {
      this.watcher = watch(this.dir, { persistent: false }, () => this.scheduleRefresh());
    } catch {
      return;
    }
    this.watcher.on('error', () => this.unwatch());
  }

  private unwatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private scheduleRefresh(): void {
    if (this.settle !== undefined || this.stopped) return;
    this.settle = setTimeout(() => {
      this.settle = undefined;
      void this.refresh();
    }, this.settleMs);
    this.settle.unref();
  }

  /** One reload at a time; a change noticed during a reload is read again right after it. */
  private refresh(): Promise<void> {
    if (this.inFlight !== undefined) {
      this.rerun = true;
      return this.inFlight;
    }
    this.inFlight = (async () => {
      do {
        this.rerun = false;
        try {
          await this.refreshOnce();
        } catch (err) {
          // Reloads run from timers where nothing awaits them; a fault must not kill the server.
          this.fail([{ file: this.dir, line: 0, col: 0, message: `reload failed: ${errorMessage(err)}`, severity: 'error' }]);
        }
      } while (this.rerun && !this.stopped);
    })().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async refreshOnce(): Promise<void> {
    const read = await readPolicyDir(this.dir);
    // A watch on a directory that was deleted stays silent forever, even once the path exists
    // again; dropping it after a failed read lets the next poll watch whatever is there now.
    if (!read.ok) this.unwatch();
    const seen = read.ok ? policySetVersion(read.input) : JSON.stringify(read.problems);
    if (seen === this.seen || this.stopped) return;
    this.seen = seen;
    const result = read.ok ? await PolicyEngine.load(read.input, { earlier: this.engine, threads: this.loadThreads }) : read;
    if (this.stopped) return;
    if (result.ok) {
      this.engine = result.engine;
      this.problems = undefined;
      this.emit('reloaded', result.engine.version);
    } else {
      this.fail(result.problems);
    }
  }

  private fail(problems: readonly PolicyProblem[]): void {
    this.problems = problems;
    this.emit('reloadFailed', problems);
  }
}
