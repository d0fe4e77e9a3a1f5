/** The outcome of parsing untrusted input: the value, or a reason fit to log and return to a caller. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };
