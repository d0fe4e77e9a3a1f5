import type { Metric, Registry } from 'prom-client';

/**
 * `gatehouse_check_duration_seconds`: a Prometheus histogram counted in plain numbers. prom-client's
 * own `observe` builds, checks and hashes a labels object on every call (about 95 ns in a loop,
 * more between a server's other work), against a bucket search here. Registered with prom-client's
 * registry as one of its metrics: `get()` answers in prom-client's own histogram form, so a scrape
 * (text or JSON) and a primary summing its workers' metrics read it as they read a prom-client
 * Histogram.
 */
export class CheckDurations {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** What prom-client's registry calls before reading a metric; nothing to gather here. */
  readonly collect = undefined;
  /** Observations per bucket, not cumulative; the last is above every bound (+Inf). */
  readonly #counts: number[];
  #sum = 0;
  #count = 0;
  /** As prom-client's: all zeros from the start, nothing at all after a reset until the next observation. */
  #shown = true;

  readonly name: string;
  readonly help: string;
  readonly buckets: readonly number[];

  /** The configuration of prom-client's Histogram, without labels. */
  constructor({ name, help, buckets, registers }: { name: string; help: string; buckets: readonly number[]; registers: readonly Registry[] }) {
    if (buckets.some((bound, i) => !Number.isFinite(bound) || (i > 0 && bound <= buckets[i - 1]!))) throw new RangeError(`${name}: buckets must be finite and increasing`);
    this.name = name;
    this.help = help;
    this.buckets = buckets;
    this.#counts = new Array<number>(buckets.length + 1).fill(0);
    // prom-client's registry takes any object with its metrics' `name`, `get` and `reset`.
    for (const registry of registers) registry.registerMetric(this as unknown as Metric);
  }

  /** One Check's duration. A value that is not a number is not counted (prom-client would throw). */
  observe(seconds: number): void {
    if (!Number.isFinite(seconds)) return;
    const { buckets } = this;
    let bucket = 0;
    while (bucket < buckets.length && seconds > buckets[bucket]!) bucket += 1;
    this.#counts[bucket]! += 1;
    this.#sum += seconds;
    this.#count += 1;
    this.#shown = true;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#sum = 0;
    this.#count = 0;
    this.#shown = false;
  }

  /** As prom-client's Histogram answers: cumulative buckets with `le`, then the sum and the count. */
  async get() {
    const values: { value: number; metricName: string; exemplar?: null; labels: Record<string, string | number> }[] = [];
    if (this.#shown) {
      let below = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        below += this.#counts[i]!;
        values.push({ value: below, metricName: `${this.name}_bucket`, exemplar: null, labels: { le: i < this.buckets.length ? this.buckets[i]! : '+Inf' } });
      }
      values.push({ value: this.#sum, metricName: `${this.name}_sum`, labels: {} }, { value: this.#count, metricName: `${this.name}_count`, labels: {} });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }
}
