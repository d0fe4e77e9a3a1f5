import { fail, type Result } from '../core/result.js';

/** The span of decision-log time a report covers; `fromMs` undefined means from the beginning. */
export interface TimeWindow {
  readonly fromMs: number | undefined;
  readonly toMs: number;
}

const unitMs: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30m`, `24h`, `7d` (also `s` and `w`) → milliseconds. One number and one unit, nothing else. */
export function parseDuration(text: string): Result<number> {
  const match = /^(\d{1,9})([smhdw])$/.exec(text);
  if (!match) return fail(`expected a duration such as 30m, 24h or 7d (got ${JSON.stringify(text)})`);
  const ms = Number(match[1]) * (unitMs[match[2]!] ?? 0);
  return ms > 0 ? { ok: true, value: ms } : fail('the duration must be longer than zero');
}

/** An ISO 8601 time with a date and a time zone, for `--now`. */
export function parseInstant(text: string): Result<number> {
  const ms = /^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/.test(text) ? Date.parse(text) : NaN;
  return Number.isFinite(ms) ? { ok: true, value: ms } : fail(`expected an ISO 8601 time such as 2025-01-31T12:00:00Z (got ${JSON.stringify(text)})`);
}

export function windowEndingAt(nowMs: number, sinceMs: number | undefined): TimeWindow {
  return { fromMs: sinceMs === undefined ? undefined : nowMs - sinceMs, toMs: nowMs };
}

export function inWindow(window: TimeWindow, timeMs: number): boolean {
  return timeMs <= window.toMs && (window.fromMs === undefined || timeMs >= window.fromMs);
}
