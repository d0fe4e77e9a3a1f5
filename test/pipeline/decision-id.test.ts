import { newDecisionId } from '../../src/pipeline/decision-id.js';

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The ULID time part of `ms`, spelled independently of the module. */
function timePart(ms: number): string {
  let out = '';
  for (let i = 0, t = ms; i < 10; i++, t = Math.floor(t / 32)) out = crockford[t % 32] + out;
  return out;
}

describe('newDecisionId', () => {
  test('is a ULID: the time in ten characters, then sixteen random ones of the alphabet', () => {
    const ms = Date.UTC(2026, 11, 1, 8, 30, 0, 123);
    const id = newDecisionId(ms);
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(id.slice(0, 10)).toBe(timePart(ms));
    // A later millisecond after many Checks of one: the time part follows the clock.
    for (let i = 0; i < 300; i++) newDecisionId(ms);
    expect(newDecisionId(ms + 1).slice(0, 10)).toBe(timePart(ms + 1));
  });

  test('ids of one millisecond differ, across refills of the random pool', () => {
    const ms = Date.UTC(2026, 11, 1);
    const ids = Array.from({ length: 2000 }, () => newDecisionId(ms));
    expect(new Set(ids).size).toBe(ids.length);
    const used = new Set(ids.flatMap((id) => [...id.slice(10)]));
    expect([...used].sort().join('')).toBe(crockford);
  });
});
