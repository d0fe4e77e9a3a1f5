/**
 * The outcome of parsing or checking untrusted input: the value, or a reason fit to log and
 * return to a caller. `E` is a string unless the failure carries more (problems, a code).
 */
export type Result<T, E = string> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: E };

/** The failed side of any Result. */
export function fail<E = string>(reason: E): { readonly ok: false; readonly reason: E } {
  return { ok: false, reason };
}
