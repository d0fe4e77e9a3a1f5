/**
 * The primary's account of a worker's decision lines: gaps in `last` are lines the worker
 * dropped; at exit, what its count file says it took and never delivered is lost. A worker's
 * sink drops past its bound and tells the primary in its next message.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { primarySink, type WorkerMessage } from '../../src/cluster-primary.js';
import { createDecisionCount, DecisionCount, decisionCountEnv, readDecisionCount } from '../../src/log/decision-count.js';
import { WorkerLedger } from '../../src/log/worker-ledger.js';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'gatehouse-ledger-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function countFile(name: string, taken: number): string {
  const file = join(dir, name);
  createDecisionCount(file);
  const count = DecisionCount.open(file);
  count.set(taken);
  count.close();
  return file;
}

test.each([
  { name: 'everything delivered', batches: [[3, 3], [5, 2]], taken: 5, dropped: [0, 0], lost: 0 },
  { name: 'the last lines never arrived', batches: [[3, 3]], taken: 10, dropped: [0], lost: 7 },
  { name: 'a batch dropped in the worker, told by the next', batches: [[3, 3], [9, 2]], taken: 9, dropped: [0, 4], lost: 0 },
  { name: 'an empty message telling drops at close', batches: [[2, 2], [6, 0]], taken: 6, dropped: [0, 4], lost: 0 },
  { name: 'nothing taken', batches: [], taken: 0, dropped: [], lost: 0 },
])('$name', ({ name, batches, taken, dropped, lost }) => {
  const file = countFile(name.replace(/\W/g, '-'), taken);
  const ledger = new WorkerLedger(file);
  expect(batches.map(([last, lines]) => ledger.received(last!, lines!))).toEqual(dropped);
  expect(ledger.settle()).toBe(lost);
});

test('without a count file, nothing is counted lost', () => {
  const ledger = new WorkerLedger(undefined);
  ledger.received(2, 2);
  expect(ledger.settle()).toBe(0);
});

test('a worker sink counts every record taken in the file, and tells drops past 16 MiB in the next message or at close', async () => {
  const file = countFile('sink', 0);
  process.env[decisionCountEnv] = file;
  const sent: WorkerMessage[] = [];
  const callbacks: (() => void)[] = [];
  const send = process.send;
  // A primary that reads nothing: no message completes until the test says so.
  process.send = ((message: WorkerMessage, _handle: unknown, _options: unknown, callback: () => void) => {
    sent.push(message);
    callbacks.push(callback);
    return true;
  }) as typeof process.send;
  try {
    const sink = primarySink();
    expect(process.env[decisionCountEnv]).toBeUndefined();
    sink.taken?.(3);
    expect(readDecisionCount(file)).toBe(3);

    const mib = (n: number): string[] => Array.from({ length: n }, () => 'x'.repeat(1024 * 1024));
    sink.write(mib(15));
    sink.write(mib(2));
    sink.write(['short']);
    sink.write(mib(2));
    const closed = sink.close();
    for (const callback of callbacks.splice(0)) callback();
    await closed;
    const told = sent.map((m) => (m.t === 'log' ? { last: m.last, lines: m.lines.length } : m));
    // 15 MiB wait on the channel; the next 2 MiB do not fit and are dropped, which the next
    // message tells; the 2 MiB dropped after it are told by an empty message at close.
    expect(told).toEqual([
      { last: 15, lines: 15 },
      { last: 18, lines: 1 },
      { last: 20, lines: 0 },
    ]);
  } finally {
    process.send = send;
  }
});

test('bug guard: a count closed twice, or set after close, touches no descriptor', () => {
  const file = countFile('closed', 4);
  const count = DecisionCount.open(file);
  count.close();
  expect(() => count.close()).not.toThrow();
  count.set(9);
  expect(readDecisionCount(file)).toBe(4);
});
