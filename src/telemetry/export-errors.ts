import { errorMessage } from '../errors.js';

const intervalMs = 60_000;

/**
 * Export failures said at most once a minute: a collector that is down would otherwise fill the
 * operational log with one line per batch. The first failure is said at once; the next line
 * says how many followed.
 */
export class ExportErrorNotice {
  private lastSaidMs = -Infinity;
  private unsaid = 0;

  constructor(
    private readonly say: (message: string, meta: Record<string, unknown>) => void,
    private readonly clock: () => number = Date.now,
  ) {}

  report(err: unknown): void {
    const now = this.clock();
    if (now - this.lastSaidMs < intervalMs) {
      this.unsaid += 1;
      return;
    }
    this.say('telemetry export failing; records are dropped and counted in gatehouse_telemetry_dropped_total', {
      error: errorMessage(err),
      ...(this.unsaid > 0 ? { failuresSinceLast: this.unsaid } : {}),
    });
    this.lastSaidMs = now;
    this.unsaid = 0;
  }
}
