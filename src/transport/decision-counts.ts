import type { Counter } from 'prom-client';
import type { DecisionLabels } from '../log/record-decision.js';

/**
 * `gatehouse_decisions_total` counted in plain numbers on the Check path and added to the
 * prom-client counter when it is read (scraped, or collected from a worker). prom-client's own
 * `inc(labels)` builds and hashes a string of the labels on every call: 0.4–0.5 µs a decision,
 * against a few map lookups here. The label sets are closed, so the maps stay small.
 */
export class DecisionCounts {
  /** wire → outcome → reason → decisions not yet added to the counter. */
  readonly #pending = new Map<DecisionLabels['wire'], Map<DecisionLabels['outcome'], Map<DecisionLabels['reason'], number>>>();

  count(outcome: DecisionLabels['outcome'], reason: DecisionLabels['reason'], wire: DecisionLabels['wire']): void {
    let byOutcome = this.#pending.get(wire);
    if (byOutcome === undefined) this.#pending.set(wire, (byOutcome = new Map()));
    let byReason = byOutcome.get(outcome);
    if (byReason === undefined) byOutcome.set(outcome, (byReason = new Map()));
    byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
  }

  /** Adds what was counted since the last call to `counter`. */
  addTo(counter: Counter<'outcome' | 'reason' | 'wire'>): void {
    for (const [wire, byOutcome] of this.#pending) {
      for (const [outcome, byReason] of byOutcome) {
        for (const [reason, n] of byReason) if (n > 0) counter.inc({ outcome, reason, wire }, n);
        byReason.clear();
      }
    }
  }
}
