/**
 * Exponential backoff with "equal jitter": each delay is uniform in [base/2, base], base doubling
 * from `initialMs` to `maxMs`, so replicas that lost the API server together do not return together.
 */
export class Backoff {
  #attempt = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt += 1;
    return jitter(base, this.random);
  }

  reset(): void {
    this.#attempt = 0;
  }
}

export function jitter(ms: number, random: () => number = Math.random): number {
  return Math.round(ms / 2 + (random() * ms) / 2);
}
