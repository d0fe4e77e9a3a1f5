import { opsLog } from './ops-log.js';

interface Unsaid {
  at: number;
  lost: number;
  reason: string;
}

/**
 * Decision lines that will never be written: counted at once, and said on stderr at most every
 * 10 s per destination with every line lost since the last message. `close` says what is still
 * unsaid (lines lost at shutdown).
 */
export class LossNotice {
  private readonly unsaid = new Map<string, Unsaid>();

  constructor(private readonly counter: { inc(n: number): void }) {}

  /** `lost` may be 0: a destination failing without losing anything yet is said too. */
  report(lost: number, destination: string, reason: string): void {
    if (lost > 0) this.counter.inc(lost);
    const state = this.unsaid.get(destination) ?? { at: 0, lost: 0, reason: '' };
    this.unsaid.set(destination, state);
    state.lost += lost;
    state.reason = reason;
    if (Date.now() - state.at >= 10_000) this.say(destination, state);
  }

  close(): void {
    for (const [destination, state] of this.unsaid) if (state.lost > 0) this.say(destination, state);
  }

  private say(destination: string, state: Unsaid): void {
    opsLog.error('decision log lines not written', { destination, lost: state.lost, reason: state.reason });
    state.at = Date.now();
    state.lost = 0;
  }
}
