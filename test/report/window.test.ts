import { inWindow, parseDuration, parseInstant, windowEndingAt } from '../../src/report/window.js';

describe('parseDuration', () => {
  test.each([
    ['30m', 1_800_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['90s', 90_000],
    ['2w', 1_209_600_000],
  ])('%s', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, value: ms });
  });

  test.each(['', '24', 'h', '1.5h', '-1h', '1H', '1h30m', ' 1h', '0h', '1y', '9999999999d'])('refuses %j', (text) => {
    expect(parseDuration(text).ok).toBe(false);
  });
});

describe('parseInstant', () => {
  test.each([
    ['2025-01-31T12:00:00Z', Date.UTC(2025, 0, 31, 12)],
    ['2025-01-31T14:00:00+02:00', Date.UTC(2025, 0, 31, 12)],
    ['2025-01-31T12:00:00.500Z', Date.UTC(2025, 0, 31, 12, 0, 0, 500)],
  ])('%s', (text, ms) => {
    expect(parseInstant(text)).toEqual({ ok: true, value: ms });
  });

  test.each(['2025-01-31', '2025-01-31T12:00:00', 'yesterday', '2025-13-31T12:00:00Z', ''])('refuses %j (no time zone, no time, or not a date)', (text) => {
    expect(parseInstant(text).ok).toBe(false);
  });
});

describe('windows', () => {
  const now = Date.UTC(2025, 0, 31, 12);
  const lastDay = windowEndingAt(now, 86_400_000);
  test.each([
    ['the start is inside', now - 86_400_000, true],
    ['the end is inside', now, true],
    ['before the start', now - 86_400_001, false],
    ['after now', now + 1, false],
  ])('%s', (_name, time, expected) => {
    expect(inWindow(lastDay, time)).toBe(expected);
  });

  test('without --since every decision up to now counts', () => {
    const all = windowEndingAt(now, undefined);
    expect(all).toEqual({ fromMs: undefined, toMs: now });
    expect(inWindow(all, 0)).toBe(true);
    expect(inWindow(all, now + 1)).toBe(false);
  });
});
