import type { AuthnResult } from '../core/identity.js';

/** At most this many values are remembered; past it the memory starts again empty. */
const maxRemembered = 10_000;

/**
 * Identities worked out from one header or principal value, remembered by that value: a mesh or
 * a proxy presents the same few clients on every request. Only accepted results are kept, so a
 * stream of bad values costs its parsing each time and never fills the memory.
 */
export class RememberedResults {
  readonly #results = new Map<string, AuthnResult>();
  /** The value asked for last and its result: comparing a repeat costs less than hashing it for the map. */
  #lastValue: string | undefined;
  #lastResult: AuthnResult | undefined;

  /** The result for `value`, worked out by `resolve` the first time. */
  of(value: string, resolve: (value: string) => AuthnResult): AuthnResult {
    if (value === this.#lastValue && this.#lastResult !== undefined) return this.#lastResult;
    let result = this.#results.get(value);
    if (result === undefined) {
      result = resolve(value);
      if (!result.ok) return result;
      if (this.#results.size >= maxRemembered) this.#results.clear();
      this.#results.set(value, result);
    }
    this.#lastValue = value;
    this.#lastResult = result;
    return result;
  }
}
