import { ActingForAggregator, type ActingForEdge } from '../../src/report/acting-for.js';
import { delegatedWrites } from '../../src/report/findings/delegated-writes.js';
import type { Finding } from '../../src/report/findings/finding.js';
import type { LoggedDecision } from '../../src/report/log-line.js';
import { ids, inventoryOf, principal } from './fixtures.js';

const assistant = principal('spiffe://cluster.local/ns/agents/sa/assistant');
const builder = principal(ids.builder);
const frontend = principal(ids.frontend);
const alice = 'User::"alice"';
const t0 = Date.UTC(2025, 0, 31, 10);
const iso = (ms: number): string => new Date(ms).toISOString();

const decision = (fields: Partial<LoggedDecision> & Pick<LoggedDecision, 'principal' | 'service' | 'action' | 'decision'>): LoggedDecision => ({
  timeMs: t0,
  path: '/',
  policies: [],
  reason: '',
  policyVersion: 'v1',
  ...fields,
});

const inventory = inventoryOf(`workloads:
  - {spiffeId: "${ids.builder}", class: build}
  - {spiffeId: "spiffe://cluster.local/ns/agents/sa/assistant", class: agent}
services: [orders.shop]
`);

describe('who acted for whom, from the log', () => {
  test('one edge per actor, principal, service and action, with counts and times; lines without an actor are no edge', () => {
    const acting = new ActingForAggregator();
    acting.add(decision({ principal: alice, service: 'tickets.support', action: 'GET', decision: 'allow', actor: assistant, actorClass: 'agent', timeMs: t0 + 5_000 }));
    acting.add(decision({ principal: alice, service: 'tickets.support', action: 'GET', decision: 'allow', actor: assistant, actorClass: 'agent' }));
    acting.add(decision({ principal: alice, service: 'tickets.support', action: 'POST', decision: 'deny', actor: assistant, actorClass: 'agent' }));
    acting.add(decision({ principal: 'User::"bob"', service: 'orders.shop', action: 'GET', decision: 'error', actor: frontend, actorClass: 'service' }));
    acting.add(decision({ principal: frontend, service: 'orders.shop', action: 'GET', decision: 'allow', class: 'service' }));
    expect(acting.summary(inventory.workloads)).toEqual({
      edges: [
        { actor: assistant, actorClass: 'agent', principal: alice, service: 'tickets.support', action: 'GET', allow: 2, deny: 0, error: 0, firstSeen: iso(t0), lastSeen: iso(t0 + 5_000) },
        { actor: assistant, actorClass: 'agent', principal: alice, service: 'tickets.support', action: 'POST', allow: 0, deny: 1, error: 0, firstSeen: iso(t0), lastSeen: iso(t0) },
        { actor: frontend, actorClass: 'service', principal: 'User::"bob"', service: 'orders.shop', action: 'GET', allow: 0, deny: 0, error: 1, firstSeen: iso(t0), lastSeen: iso(t0) },
      ],
      dropped: 0,
    });
  });

  test.each<[string, string | undefined, string, string]>([
    ['the class the server logged wins over the inventory', 'service', builder, 'service'],
    ['a line without a class takes the inventory\'s', undefined, builder, 'build'],
    ['an actor neither logged a class for nor listed is unknown', undefined, frontend, 'unknown'],
  ])('%s', (_name, actorClass, actor, expected) => {
    const acting = new ActingForAggregator();
    acting.add(decision({ principal: alice, service: 'orders.shop', action: 'POST', decision: 'allow', actor, ...(actorClass === undefined ? {} : { actorClass }) }));
    expect(acting.summary(inventory.workloads).edges.map((edge) => edge.actorClass)).toEqual([expected]);
  });

  test('past the limit, new edges are counted as dropped and known ones still count', () => {
    const acting = new ActingForAggregator(1);
    acting.add(decision({ principal: alice, service: 'orders.shop', action: 'GET', decision: 'allow', actor: builder }));
    acting.add(decision({ principal: alice, service: 'orders.shop', action: 'PUT', decision: 'allow', actor: builder }));
    acting.add(decision({ principal: alice, service: 'orders.shop', action: 'GET', decision: 'allow', actor: builder }));
    const summary = acting.summary(inventory.workloads);
    expect(summary.dropped).toBe(1);
    expect(summary.edges.map((edge) => [edge.action, edge.allow])).toEqual([['GET', 2]]);
  });
});

describe('build jobs and agents writing for people', () => {
  const edge = (fields: Partial<ActingForEdge>): ActingForEdge => ({
    actor: builder,
    actorClass: 'build',
    principal: alice,
    service: 'orders.shop',
    action: 'POST',
    allow: 1,
    deny: 0,
    error: 0,
    firstSeen: iso(t0),
    lastSeen: iso(t0),
    ...fields,
  });

  test.each<{ name: string; edges: ActingForEdge[]; expected: Finding[] }>([
    {
      name: 'a build job\'s allowed writes for a person: one high finding per service, every write action named',
      edges: [edge({ allow: 3 }), edge({ action: 'DELETE', lastSeen: iso(t0 + 60_000) }), edge({ action: 'GET', allow: 9 })],
      expected: [
        {
          kind: 'delegated-write',
          severity: 'high',
          message: `${builder} (build) wrote for ${alice} on orders.shop: POST ×3, DELETE ×1 allowed`,
          actor: builder,
          actorClass: 'build',
          principal: alice,
          service: 'orders.shop',
          actions: [
            { action: 'POST', allow: 3 },
            { action: 'DELETE', allow: 1 },
          ],
          allows: 4,
          firstSeen: iso(t0),
          lastSeen: iso(t0 + 60_000),
        },
      ],
    },
    {
      name: 'an agent\'s: medium',
      edges: [edge({ actor: assistant, actorClass: 'agent', service: 'tickets.support', action: 'PATCH' })],
      expected: [
        {
          kind: 'delegated-write',
          severity: 'medium',
          message: `${assistant} (agent) wrote for ${alice} on tickets.support: PATCH ×1 allowed`,
          actor: assistant,
          actorClass: 'agent',
          principal: alice,
          service: 'tickets.support',
          actions: [{ action: 'PATCH', allow: 1 }],
          allows: 1,
          firstSeen: iso(t0),
          lastSeen: iso(t0),
        },
      ],
    },
    { name: 'denied writes are not exercised access', edges: [edge({ allow: 0, deny: 4 }), edge({ action: 'PUT', allow: 0, error: 1 })], expected: [] },
    { name: 'reads are not writes', edges: [edge({ action: 'GET' }), edge({ action: 'HEAD' }), edge({ action: 'OPTIONS' })], expected: [] },
    { name: 'a service or automation acting for a person is the normal case', edges: [edge({ actorClass: 'service' }), edge({ actorClass: 'automation' }), edge({ actorClass: 'unknown' })], expected: [] },
    { name: 'a build job acting for another workload is not a person\'s access', edges: [edge({ principal: frontend })], expected: [] },
  ])('$name', ({ edges, expected }) => {
    expect(delegatedWrites(edges)).toEqual(expected);
  });
});
