import type { LoggedDecision } from '../../src/report/log-line.js';
import { defaultLimits, UseAggregator } from '../../src/report/observed-use.js';

const t0 = Date.UTC(2025, 0, 31, 12);
const decision = (overrides: Partial<LoggedDecision>): LoggedDecision => ({
  timeMs: t0,
  principal: 'Workload::"spiffe://td/ns/a/sa/web"',
  service: 'orders.shop',
  action: 'GET',
  path: '/',
  decision: 'allow',
  policies: ['p-read'],
  reason: '',
  policyVersion: 'v1',
  ...overrides,
});

describe('UseAggregator', () => {
  test('counts per (principal, service, action), per principal and per policy, with first and last seen', () => {
    const aggregator = new UseAggregator();
    aggregator.add(decision({ timeMs: t0 + 5000 }));
    aggregator.add(decision({ timeMs: t0 }));
    aggregator.add(decision({ timeMs: t0 + 1000, decision: 'deny', policies: [], reason: 'policy_denied' }));
    aggregator.add(decision({ action: 'POST', decision: 'deny', policies: ['p-forbid'], reason: 'policy_denied', policyVersion: 'v2' }));
    aggregator.add(decision({ principal: 'Anonymous::"anonymous"', decision: 'error', policies: [], reason: 'no_policy_set' }));
    const summary = aggregator.summary();
    expect(summary.decisions).toBe(5);
    expect(summary.dropped).toBe(0);
    expect(summary.uses).toEqual([
      { principal: 'Anonymous::"anonymous"', service: 'orders.shop', action: 'GET', allow: 0, deny: 0, error: 1, firstSeen: '2025-01-31T12:00:00.000Z', lastSeen: '2025-01-31T12:00:00.000Z' },
      { principal: 'Workload::"spiffe://td/ns/a/sa/web"', service: 'orders.shop', action: 'GET', allow: 2, deny: 1, error: 0, firstSeen: '2025-01-31T12:00:00.000Z', lastSeen: '2025-01-31T12:00:05.000Z' },
      { principal: 'Workload::"spiffe://td/ns/a/sa/web"', service: 'orders.shop', action: 'POST', allow: 0, deny: 1, error: 0, firstSeen: '2025-01-31T12:00:00.000Z', lastSeen: '2025-01-31T12:00:00.000Z' },
    ]);
    expect(summary.principals).toEqual([
      { principal: 'Anonymous::"anonymous"', allow: 0, deny: 0, error: 1, firstSeen: '2025-01-31T12:00:00.000Z', lastSeen: '2025-01-31T12:00:00.000Z', denyReasons: {}, classes: {} },
      { principal: 'Workload::"spiffe://td/ns/a/sa/web"', allow: 2, deny: 2, error: 0, firstSeen: '2025-01-31T12:00:00.000Z', lastSeen: '2025-01-31T12:00:05.000Z', denyReasons: { policy_denied: 2 }, classes: {} },
    ]);
    expect(Object.fromEntries(summary.policyDecisions)).toEqual({ 'p-read': 2, 'p-forbid': 1 });
    expect(summary.policyVersions).toEqual({ v1: 4, v2: 1 });
  });

  test('keys past the limits are dropped and counted, never stored', () => {
    const aggregator = new UseAggregator({ ...defaultLimits, maxPrincipals: 2, maxUses: 3 });
    for (const name of ['a', 'b', 'c', 'd']) aggregator.add(decision({ principal: name }));
    for (const action of ['PUT', 'PATCH']) aggregator.add(decision({ principal: 'a', action }));
    const summary = aggregator.summary();
    expect(summary.uses.map((use) => `${use.principal} ${use.action}`)).toEqual(['a GET', 'a PUT', 'b GET']);
    expect(summary.decisions).toBe(3);
    expect(summary.dropped).toBe(3);
  });

  test('deny reasons past the per-principal limit are folded into (other)', () => {
    const aggregator = new UseAggregator({ ...defaultLimits, maxReasonsPerPrincipal: 3 });
    for (const reason of ['r1', 'r2', 'r3', 'r4', 'r1', '']) aggregator.add(decision({ decision: 'deny', reason }));
    expect(aggregator.summary().principals[0]?.denyReasons).toEqual({ r1: 2, '(other)': 3, r2: 1 });
  });

  test('the classes the server logged are counted per principal, past the limit folded into (other)', () => {
    const aggregator = new UseAggregator({ ...defaultLimits, maxClassesPerPrincipal: 3 });
    for (const loggedClass of ['service', 'build', 'service', 'automation', 'unknown', undefined]) aggregator.add(decision({ class: loggedClass }));
    aggregator.add(decision({ principal: 'User::"alice"' }));
    expect(aggregator.summary().principals.map((activity) => [activity.principal, activity.classes])).toEqual([
      ['User::"alice"', {}],
      ['Workload::"spiffe://td/ns/a/sa/web"', { service: 2, '(other)': 2, build: 1 }],
    ]);
  });
});
