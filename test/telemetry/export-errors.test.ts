import { ExportErrorNotice } from '../../src/telemetry/export-errors.js';

describe('ExportErrorNotice: export failures said at most once a minute', () => {
  test.each([
    ['one failure is said at once', [0], [{ at: 0, meta: { error: 'e0' } }]],
    ['failures within the minute are not said', [0, 1000, 59_999], [{ at: 0, meta: { error: 'e0' } }]],
    [
      'a failure a minute later is said with how many were not',
      [0, 10, 20, 60_000],
      [
        { at: 0, meta: { error: 'e0' } },
        { at: 60_000, meta: { error: 'e3', failuresSinceLast: 2 } },
      ],
    ],
    [
      'the minute counts from the last line said',
      [0, 60_000, 100_000, 120_000],
      [
        { at: 0, meta: { error: 'e0' } },
        { at: 60_000, meta: { error: 'e1' } },
        { at: 120_000, meta: { error: 'e3', failuresSinceLast: 1 } },
      ],
    ],
  ])('%s', (_name, failures, expected) => {
    let now = 0;
    const said: { at: number; meta: Record<string, unknown> }[] = [];
    const notice = new ExportErrorNotice((_message, meta) => said.push({ at: now, meta }), () => now);
    failures.forEach((at, i) => {
      now = at;
      notice.report(new Error(`e${i}`));
    });
    expect(said).toEqual(expected);
  });
});
