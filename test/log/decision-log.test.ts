/**
 * DecisionLog hands records on in batches: every 5 ms, or at the end of the event loop's turn once
 * 256 are waiting (a burst's batch is no cheaper per line past that, and held records are garbage
 * the collector finds alive). Every record is handed on once, in order, and close() hands on the rest.
 */
import { jest } from '@jest/globals';
import { DecisionLog } from '../../src/log/decision-log.js';
import type { DecisionRecord } from '../../src/log/decision-record.js';

function record(n: number): DecisionRecord {
  return {
    time: '2026-12-02T08:00:00.000Z',
    decisionId: `01M8TSKQHQNCJADRSM${String(n).padStart(8, '0')}`,
    requestId: `r-${n}`,
    principal: 'Workload::"spiffe://cluster.local/ns/shop/sa/frontend"',
    authn: 'mtls',
    action: 'GET',
    resource: 'orders.shop',
    path: `/api/orders/${n}`,
    decision: 'allow',
    policies: ['frontend-reads-orders'],
    errors: [],
    mode: 'enforce',
    durationMs: 0.021,
    reason: '',
    detail: '',
    policyVersion: 'ef2e5bb1157a',
  };
}

function capturing(): { log: DecisionLog; batches: string[][] } {
  const batches: string[][] = [];
  const log = new DecisionLog({ write: (lines) => void batches.push([...lines]), close: async () => undefined });
  return { log, batches };
}

const requestIds = (batches: readonly string[][]): string[] => batches.flat().map((line) => (JSON.parse(line) as { requestId: string }).requestId);

// The clock is jest's: what goes on when is decided by the log, never by how busy the machine is.
beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test('a few records wait for their 5 ms, then go on together', () => {
  const { log, batches } = capturing();
  for (let n = 0; n < 10; n++) log.record(record(n));
  jest.advanceTimersByTime(4);
  expect(batches).toEqual([]);
  jest.advanceTimersByTime(1);
  expect(batches).toHaveLength(1);
  expect(requestIds(batches)).toEqual(Array.from({ length: 10 }, (_, n) => `r-${n}`));
  expect(log.count).toBe(10);
});

test('the 256th waiting record sends the batch on at the end of the turn, before its time is up; none twice, in order', () => {
  const { log, batches } = capturing();
  for (let n = 0; n < 255; n++) log.record(record(n));
  jest.advanceTimersByTime(0);
  expect(batches).toEqual([]);
  log.record(record(255));
  jest.advanceTimersByTime(0);
  expect(batches).toHaveLength(1);
  expect(batches[0]).toHaveLength(256);
  for (let n = 256; n < 300; n++) log.record(record(n));
  jest.advanceTimersByTime(4);
  expect(batches).toHaveLength(1);
  jest.advanceTimersByTime(1);
  expect(batches).toHaveLength(2);
  jest.advanceTimersByTime(50);
  expect(requestIds(batches)).toEqual(Array.from({ length: 300 }, (_, n) => `r-${n}`));
  expect(log.count).toBe(300);
});

test('close() hands on what is waiting, and nothing goes on after it', async () => {
  const { log, batches } = capturing();
  for (let n = 0; n < 300; n++) log.record(record(n));
  await log.close();
  expect(batches).toHaveLength(1);
  jest.advanceTimersByTime(50);
  expect(batches).toHaveLength(1);
  expect(requestIds(batches)).toEqual(Array.from({ length: 300 }, (_, n) => `r-${n}`));
});
