import { Backoff } from '../../src/kubernetes/backoff.js';
import { ConcurrencyLimit } from '../../src/kubernetes/concurrency-limit.js';
import { freshness, SyncHealth } from '../../src/kubernetes/sync-health.js';

function synced(at: number): SyncHealth {
  const health = new SyncHealth(0);
  health.listSucceeded(at);
  health.watchOpened(at);
  return health;
}

describe('SyncHealth', () => {
  test('synced needs both a successful list and an open watch', () => {
    const health = new SyncHealth(0);
    health.watchOpened(1);
    expect(health.synced).toBe(false);
    health.listSucceeded(2);
    expect([health.synced, health.everSynced]).toEqual([true, true]);
  });

  test('a failed list after a sync: out of sync since the failure, last healthy then', () => {
    const health = synced(10);
    health.watchClosed(100, 'read ECONNRESET');
    health.listFailed(150, 'connect ECONNREFUSED');
    expect(health.unsyncedForMs(1100)).toBe(1000);
    expect(health.lastHealthyAt(1100)).toBe(100);
    expect(health.snapshot(1100)).toMatchObject({ synced: false, lastError: 'connect ECONNREFUSED', listFailures: 1, watchFailures: 1 });
  });

  test('a normal watch close records no error', () => {
    const health = synced(10);
    health.watchClosed(20);
    expect(health.snapshot(20)).toMatchObject({ watchFailures: 0, lastError: null });
  });
});

describe('freshness', () => {
  test.each<[string, () => SyncHealth[], number, string]>([
    ['all synced', () => [synced(0), synced(0)], 10_000, 'fresh'],
    ['one never synced', () => [synced(0), new SyncHealth(0)], 10, 'unsynced'],
    [
      'one out of sync within the limit',
      () => {
        const h = synced(0);
        h.watchClosed(9_500);
        return [synced(0), h];
      },
      10_000,
      'fresh',
    ],
    [
      'one out of sync past the limit',
      () => {
        const h = synced(0);
        h.watchClosed(5_000);
        return [synced(0), h];
      },
      10_000,
      'stale',
    ],
  ])('%s', (_name, healths, now, state) => {
    expect(freshness(healths(), now, 1_000).state).toBe(state);
  });
});

describe('Backoff', () => {
  test('doubles from the initial delay to the cap, each delay jittered into [base/2, base]', () => {
    const low = new Backoff(250, 2_000, () => 0);
    expect(Array.from({ length: 6 }, () => low.next())).toEqual([125, 250, 500, 1_000, 1_000, 1_000]);
    const high = new Backoff(250, 2_000, () => 1);
    expect(Array.from({ length: 5 }, () => high.next())).toEqual([250, 500, 1_000, 2_000, 2_000]);
    high.reset();
    expect(high.next()).toBe(250);
  });
});

describe('ConcurrencyLimit', () => {
  test('runs at most max tasks at once and starts waiting ones in order', async () => {
    const limit = new ConcurrencyLimit(2);
    const started: number[] = [];
    let running = 0;
    let peak = 0;
    const task = (n: number) => async () => {
      started.push(n);
      peak = Math.max(peak, ++running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      return n;
    };
    const signal = new AbortController().signal;
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => limit.run(task(n), signal)));
    expect(results).toEqual([1, 2, 3, 4, 5]);
    expect(started).toEqual([1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
    expect(limit.active).toBe(0);
  });

  test('a waiting task whose signal aborts leaves the queue without running', async () => {
    const limit = new ConcurrencyLimit(1);
    let release!: () => void;
    const first = limit.run(() => new Promise<void>((resolve) => (release = resolve)), new AbortController().signal);
    const abort = new AbortController();
    let ran = false;
    const second = limit.run(async () => {
      ran = true;
    }, abort.signal);
    abort.abort(new Error('gave up'));
    await expect(second).rejects.toThrow('gave up');
    release();
    await first;
    expect(ran).toBe(false);
    expect(limit.active).toBe(0);
  });
});
