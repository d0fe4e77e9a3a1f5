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
        { name: 'a.log', lines: 7, inWindow: 2, outsideWindow: 1, malformed: 2, duplicates: 0 },
        { name: 'b.log', lines: 3, inWindow: 1, outsideWindow: 1, malformed: 1, duplicates: 0 },
      ],
      malformed: {
        count: 3,
        byReason: { 'not JSON': 1, '"time" is not a date and time': 1, 'not a JSON object': 1 },
        examples: [
          { file: 'a.log', line: 3, reason: 'not JSON', sample: 'not json at all' },
          // Both logs are read at once (merged by time): examples come in the order read.
          { file: 'b.log', line: 3, reason: 'not a JSON object', sample: '[]' },
          { file: 'a.log', line: 7, reason: '"time" is not a date and time', sample: '{"time":"x"}' },
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

describe('readDecisionLogs over many replicas', () => {
  const entry = (minutesAgo: number, id: string | undefined, path = '/') =>
    JSON.stringify({ ...JSON.parse(logLine({ time: new Date(now - minutesAgo * 60_000).toISOString(), principal: web, resource: 'orders.shop', action: 'GET', decision: 'allow', path })), decisionId: id });
  const recorder = () => {
    const seen: string[] = [];
    return { seen, add: (decision: { path: string }) => seen.push(decision.path) };
  };

  test('merges the logs by time and drops a decision read twice, counting it on the log it came from again', async () => {
    const a = [entry(50, 'a1', '/a1'), entry(30, 'a2', '/a2'), entry(10, 'a3', '/a3')].join('\n');
    // b overlaps a: its export holds a2 again.
    const b = [entry(40, 'b1', '/b1'), entry(30, 'a2', '/a2'), entry(20, 'b2', '/b2'), entry(5, undefined, '/no-id'), entry(5, undefined, '/no-id')].join('\n');
    const sink = recorder();
    const result = await readDecisionLogs(
      [
        { name: 'a.log', stream: stream(a) },
        { name: 'b.log', stream: stream(b) },
      ],
      windowEndingAt(now, undefined),
      sink,
    );
    expect(sink.seen).toEqual(['/a1', '/b1', '/a2', '/b2', '/a3', '/no-id', '/no-id']);
    expect(result.files).toEqual([
      { name: 'a.log', lines: 3, inWindow: 3, outsideWindow: 0, malformed: 0, duplicates: 0 },
      { name: 'b.log', lines: 5, inWindow: 4, outsideWindow: 0, malformed: 0, duplicates: 1 },
    ]);
  });

  test('the duplicate window is bounded: an id is forgotten past the span or past the count', async () => {
    const far = [entry(120, 'x', '/first'), entry(60, 'y', '/y'), entry(1, 'x', '/again')].join('\n');
    const bySpan = recorder();
    await readDecisionLogs([{ name: 'far.log', stream: stream(far) }], windowEndingAt(now, undefined), bySpan, { duplicateWindow: { spanMs: 30 * 60_000, maxIds: 100 } });
    expect(bySpan.seen).toEqual(['/first', '/y', '/again']);
    const near = [entry(3, 'x', '/first'), entry(2, 'y', '/y'), entry(1, 'x', '/again')].join('\n');
    const byCount = recorder();
    await readDecisionLogs([{ name: 'near.log', stream: stream(near) }], windowEndingAt(now, undefined), byCount, { duplicateWindow: { spanMs: 30 * 60_000, maxIds: 1 } });
    expect(byCount.seen).toEqual(['/first', '/y', '/again']);
    const within = recorder();
    await readDecisionLogs([{ name: 'near.log', stream: stream(near) }], windowEndingAt(now, undefined), within, { duplicateWindow: { spanMs: 30 * 60_000, maxIds: 2 } });
    expect(within.seen).toEqual(['/first', '/y']);
  });

  test('200,000 lines in two logs go through the merge', async () => {
    const many = (prefix: string) => Readable.from((function* () {
      for (let i = 0; i < 100_000; i += 1) yield `${entry(100_000 - i, `${prefix}${i}`)}\n`;
    })());
    const aggregator = new UseAggregator();
    const result = await readDecisionLogs([{ name: 'a', stream: many('a') }, { name: 'b', stream: many('b') }], windowEndingAt(now, undefined), aggregator);
    expect(result.files.map((file) => file.inWindow)).toEqual([100_000, 100_000]);
    expect(aggregator.summary().uses).toMatchObject([{ allow: 200_000 }]);
  });
});
