import { Readable } from 'node:stream';
import { UseAggregator } from '../../src/report/observed-use.js';
import { readDecisionLogs, type Progress } from '../../src/report/read-logs.js';
import { windowEndingAt } from '../../src/report/window.js';
import { logLine } from './fixtures.js';

const now = Date.UTC(2025, 0, 31, 12);
const at = (hoursAgo: number) => new Date(now - hoursAgo * 3_600_000).toISOString();
const web = 'Workload::"spiffe://td/ns/a/sa/web"';
const line = (hoursAgo: number, decision: 'allow' | 'deny' = 'allow') => logLine({ time: at(hoursAgo), principal: web, resource: 'orders.shop', action: 'GET', decision });

function stream(text: string): Readable {
  return Readable.from([text]);
}

describe('readDecisionLogs', () => {
  test('keeps the window, counts what is outside it and what is malformed, and goes on', async () => {
    const aggregator = new UseAggregator();
    const first = [line(1), line(30), 'not json at all', '', '   ', line(2, 'deny'), '{"time":"x"}'].join('\n');
    const second = [line(-1), `${line(3)}\r`, '[]'].join('\n');
    const result = await readDecisionLogs(
      [
        { name: 'a.log', stream: stream(first) },
        { name: 'b.log', stream: stream(second) },
      ],
      windowEndingAt(now, 24 * 3_600_000),
      aggregator,
    );
    expect(result).toEqual({
      files: [
        { name: 'a.log', lines: 7, inWindow: 2, outsideWindow: 1, malformed: 2 },
        { name: 'b.log', lines: 3, inWindow: 1, outsideWindow: 1, malformed: 1 },
      ],
      malformed: {
        count: 3,
        byReason: { 'not JSON': 1, '"time" is not a date and time': 1, 'not a JSON object': 1 },
        examples: [
          { file: 'a.log', line: 3, reason: 'not JSON', sample: 'not json at all' },
          { file: 'a.log', line: 7, reason: '"time" is not a date and time', sample: '{"time":"x"}' },
          { file: 'b.log', line: 3, reason: 'not a JSON object', sample: '[]' },
        ],
      },
    });
    expect(aggregator.summary().uses).toMatchObject([{ principal: web, allow: 2, deny: 1 }]);
  });

  test('a very long malformed line is sampled, not copied', async () => {
    const result = await readDecisionLogs([{ name: 'x', stream: stream(`{${'a'.repeat(100_000)}\n`) }], windowEndingAt(now, undefined), new UseAggregator());
    expect(result.malformed.examples[0]?.sample).toHaveLength(120);
  });

  test('reports progress on a clock, not on every line', async () => {
    const lines = Array.from({ length: 40_000 }, () => line(1)).join('\n');
    let clock = 0;
    const progress: Progress[] = [];
    await readDecisionLogs([{ name: 'big.log', stream: stream(lines) }], windowEndingAt(now, undefined), new UseAggregator(), {
      clock: () => (clock += 1000),
      progressEveryMs: 2000,
      onProgress: (report) => progress.push(report),
    });
    // The clock is read every 8192 lines and moves 1 s per read: reports at 16384 and 32768 lines.
    expect(progress).toEqual([
      { file: 'big.log', lines: 16384, elapsedMs: 2000 },
      { file: 'big.log', lines: 32768, elapsedMs: 4000 },
    ]);
  });

  test('a stream that fails rejects with the name of the log', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('EIO: i/o error'));
      },
    });
    await expect(readDecisionLogs([{ name: 'broken.log', stream: failing }], windowEndingAt(now, undefined), new UseAggregator())).rejects.toThrow('broken.log: EIO: i/o error');
  });
});
