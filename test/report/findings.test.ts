import type { MatrixCell } from '../../src/report/access-matrix.js';
import { analyzePolicies, type AnalyzedPolicy } from '../../src/report/analyzed-policy.js';
import { ActingForAggregator } from '../../src/report/acting-for.js';
import { actorClassMismatches } from '../../src/report/findings/actor-class-mismatches.js';
import { allFindings } from '../../src/report/findings/all-findings.js';
import { classMismatches } from '../../src/report/findings/class-mismatches.js';
import { sortFindings, type Finding } from '../../src/report/findings/finding.js';
import { idlePolicies } from '../../src/report/findings/idle-policies.js';
import { overBroadPolicies } from '../../src/report/findings/over-broad-policies.js';
import { repeatedDenies } from '../../src/report/findings/repeated-denies.js';
import { unknownIdentities } from '../../src/report/findings/unknown-identities.js';
import { unknownServices } from '../../src/report/findings/unknown-services.js';
import { unseenIdentities } from '../../src/report/findings/unseen-identities.js';
import { unusedGrants } from '../../src/report/findings/unused-grants.js';
import type { ObservedUse, PrincipalActivity } from '../../src/report/observed-use.js';
import { servicesOutsideInventory } from '../../src/report/service-traffic.js';
import { engineOf, ids, inventoryOf, principal } from './fixtures.js';

const web = principal(ids.frontend);
const builder = principal(ids.builder);
const seen = { firstSeen: '2025-01-31T10:00:00.000Z', lastSeen: '2025-01-31T11:00:00.000Z' };

const cell = (who: string, service: string, action: MatrixCell['action'], policies: string[], access: MatrixCell['access'] = 'conditional'): MatrixCell => ({
  principal: who,
  service,
  action,
  access,
  policies,
  allowedWhen: [],
  deniedWhen: [],
});
const use = (who: string, service: string, action: string, allow: number, deny = 0): ObservedUse => ({ principal: who, service, action, allow, deny, error: 0, ...seen });
const activity = (who: string, allow: number, deny: number, denyReasons: Record<string, number> = {}, classes: Record<string, number> = {}): PrincipalActivity => ({
  principal: who,
  allow,
  deny,
  error: 0,
  denyReasons,
  classes,
  ...seen,
});

const inventory = inventoryOf(`workloads:
  - {spiffeId: "${ids.frontend}", class: service}
  - {spiffeId: "${ids.builder}", class: build}
  - {spiffeId: "${ids.retired}", class: service}
services: [orders.shop, catalog.shop]
`);

describe('unused grants', () => {
  const cells = [
    cell(web, 'orders.shop', 'GET', ['fe-orders']),
    cell(web, 'orders.shop', 'HEAD', ['fe-orders']),
    cell(web, 'catalog.shop', 'GET', ['fe-catalog'], 'allow'),
    cell(web, 'catalog.shop', 'POST', ['fe-catalog-write']),
  ];
  test.each<{ name: string; uses: ObservedUse[]; expected: Finding[] }>([
    {
      name: 'nothing used: one finding per pair, medium',
      uses: [],
      expected: [
        { kind: 'unused-grant', severity: 'medium', message: `${web} may call orders.shop (GET, HEAD) but never did in the window; granted by fe-orders`, principal: web, service: 'orders.shop', unusedActions: ['GET', 'HEAD'], usedActions: [], policies: ['fe-orders'] },
        { kind: 'unused-grant', severity: 'medium', message: `${web} may call catalog.shop (GET, POST) but never did in the window; granted by fe-catalog, fe-catalog-write`, principal: web, service: 'catalog.shop', unusedActions: ['GET', 'POST'], usedActions: [], policies: ['fe-catalog', 'fe-catalog-write'] },
      ],
    },
    {
      name: 'partly used: low, naming what was used; a fully used pair is no finding',
      uses: [use(web, 'orders.shop', 'GET', 3), use(web, 'orders.shop', 'HEAD', 1), use(web, 'catalog.shop', 'GET', 9)],
      expected: [{ kind: 'unused-grant', severity: 'low', message: `${web} never used POST on catalog.shop (used: GET); granted by fe-catalog-write`, principal: web, service: 'catalog.shop', unusedActions: ['POST'], usedActions: ['GET'], policies: ['fe-catalog-write'] }],
    },
    {
      name: 'denied requests are not use',
      uses: [use(web, 'orders.shop', 'GET', 0, 5), use(web, 'orders.shop', 'HEAD', 1), use(web, 'catalog.shop', 'GET', 1), use(web, 'catalog.shop', 'POST', 1)],
      expected: [{ kind: 'unused-grant', severity: 'low', message: `${web} never used GET on orders.shop (used: HEAD); granted by fe-orders`, principal: web, service: 'orders.shop', unusedActions: ['GET'], usedActions: ['HEAD'], policies: ['fe-orders'] }],
    },
  ])('$name', ({ uses, expected }) => {
    expect(unusedGrants(cells, uses)).toEqual(expected);
  });
});

describe('unseen inventory identities', () => {
  test.each<{ name: string; principals: PrincipalActivity[]; expected: string[] }>([
    { name: 'no log activity: every workload', principals: [], expected: [web, builder, principal(ids.retired)] },
    { name: 'a deny counts as seen', principals: [activity(web, 1, 0), activity(builder, 0, 3)], expected: [principal(ids.retired)] },
    { name: 'all seen', principals: [activity(web, 1, 0), activity(builder, 1, 0), activity(principal(ids.retired), 1, 0)], expected: [] },
  ])('$name', ({ principals, expected }) => {
    expect(unseenIdentities(inventory.workloads, principals).map((finding) => finding.kind === 'unseen-identity' && finding.principal)).toEqual(expected);
  });

  test('the finding names class and namespace', () => {
    expect(unseenIdentities(inventory.workloads.slice(1, 2), [])).toEqual([
      { kind: 'unseen-identity', severity: 'low', message: `${builder} (build) is in the inventory but made no request in the window`, principal: builder, class: 'build', namespace: 'ci' },
    ]);
  });
});

describe('identities not in the inventory', () => {
  const stranger = 'Workload::"spiffe://cluster.local/ns/shop/sa/scraper"';
  test.each<{ name: string; principals: PrincipalActivity[]; expected: Finding[] }>([
    { name: 'only known workloads', principals: [activity(web, 4, 0)], expected: [] },
    {
      name: 'an unknown workload that was allowed is medium',
      principals: [activity(stranger, 2, 1)],
      expected: [{ kind: 'unknown-identity', severity: 'medium', message: `${stranger} is not in the inventory but made 3 requests (2 allowed, 1 denied)`, principal: stranger, allow: 2, deny: 1, error: 0, ...seen }],
    },
    {
      name: 'one that was only denied is low',
      principals: [activity(stranger, 0, 4)],
      expected: [{ kind: 'unknown-identity', severity: 'low', message: `${stranger} is not in the inventory but made 4 requests (0 allowed, 4 denied)`, principal: stranger, allow: 0, deny: 4, error: 0, ...seen }],
    },
    { name: 'users, the anonymous caller and unidentified requests are not inventory entries', principals: [activity('User::"alice"', 1, 0), activity('Anonymous::"anonymous"', 1, 0), activity('', 0, 9)], expected: [] },
  ])('$name', ({ principals, expected }) => {
    expect(unknownIdentities(inventory.workloads, principals)).toEqual(expected);
  });
});

describe('services not in the inventory', () => {
  const at = (firstSeen: string, lastSeen: string) => ({ firstSeen, lastSeen });
  const stranger = 'Workload::"spiffe://cluster.local/ns/shop/sa/scraper"';
  const uses: ObservedUse[] = [
    use(web, 'orders.shop', 'GET', 9),
    { ...use(web, 'ledger.finance', 'GET', 3), ...at('2025-01-31T09:00:00.000Z', '2025-01-31T10:00:00.000Z') },
    { ...use(web, 'ledger.finance', 'POST', 0, 1), ...at('2025-01-31T08:00:00.000Z', '2025-01-31T08:30:00.000Z') },
    { ...use(stranger, 'ledger.finance', 'GET', 0, 2), ...at('2025-01-31T10:00:00.000Z', '2025-01-31T11:30:00.000Z') },
    use(builder, 'legacy-db', 'GET', 0, 1),
    use('', '', 'GET', 0, 40),
  ];

  test('traffic to services the inventory lists, or to no service at all, is not reported', () => {
    expect(servicesOutsideInventory(inventory.services, [use(web, 'orders.shop', 'GET', 9), use('', '', 'GET', 0, 4)])).toEqual([]);
  });

  test('each other service once, busiest first, with its callers and the whole span of its traffic', () => {
    expect(servicesOutsideInventory(inventory.services, uses)).toEqual([
      {
        name: 'ledger.finance',
        namespace: 'finance',
        allow: 3,
        deny: 3,
        error: 0,
        callers: 2,
        topCallers: [
          { principal: web, allow: 3, deny: 1, error: 0 },
          { principal: stranger, allow: 0, deny: 2, error: 0 },
        ],
        firstSeen: '2025-01-31T08:00:00.000Z',
        lastSeen: '2025-01-31T11:30:00.000Z',
      },
      { name: 'legacy-db', namespace: null, allow: 0, deny: 1, error: 0, callers: 1, topCallers: [{ principal: builder, allow: 0, deny: 1, error: 0 }], ...seen },
    ]);
  });

  test('medium when something was allowed, low when everything was denied', () => {
    expect(unknownServices(servicesOutsideInventory(inventory.services, uses))).toEqual([
      {
        kind: 'unknown-service',
        severity: 'medium',
        message: 'ledger.finance is not in the inventory but received 6 requests (3 allowed, 3 denied) from 2 callers',
        service: 'ledger.finance',
        allow: 3,
        deny: 3,
        error: 0,
        callers: 2,
        topCallers: [web, stranger],
        firstSeen: '2025-01-31T08:00:00.000Z',
        lastSeen: '2025-01-31T11:30:00.000Z',
      },
      {
        kind: 'unknown-service',
        severity: 'low',
        message: 'legacy-db is not in the inventory but received 1 requests (0 allowed, 1 denied) from 1 caller',
        service: 'legacy-db',
        allow: 0,
        deny: 1,
        error: 0,
        callers: 1,
        topCallers: [builder],
        ...seen,
      },
    ]);
  });
});

describe('workload classes the server logged otherwise', () => {
  test.each<{ name: string; principals: PrincipalActivity[]; expected: Finding[] }>([
    { name: 'a log without classes says nothing', principals: [activity(web, 4, 0), activity(builder, 0, 3)], expected: [] },
    { name: 'the class the inventory gives', principals: [activity(web, 4, 0, {}, { service: 4 }), activity(builder, 0, 3, {}, { build: 3 })], expected: [] },
    {
      name: 'a build job the server did not treat as one is high',
      principals: [activity(builder, 5, 0, {}, { service: 4, build: 1 })],
      expected: [
        {
          kind: 'class-mismatch',
          severity: 'high',
          message: `${builder} is "build" in the inventory but the server logged it as "service" in 4 decisions`,
          principal: builder,
          inventoryClass: 'build',
          loggedClasses: { service: 4, build: 1 },
        },
      ],
    },
    {
      name: 'any other disagreement is medium',
      principals: [activity(web, 0, 1, {}, { build: 1 })],
      expected: [
        {
          kind: 'class-mismatch',
          severity: 'medium',
          message: `${web} is "service" in the inventory but the server logged it as "build" in 1 decision`,
          principal: web,
          inventoryClass: 'service',
          loggedClasses: { build: 1 },
        },
      ],
    },
    { name: 'workloads outside the inventory are unknown identities, not mismatches', principals: [activity('Workload::"spiffe://cluster.local/ns/x/sa/y"', 1, 0, {}, { build: 1 })], expected: [] },
  ])('$name', ({ principals, expected }) => {
    expect(classMismatches(inventory.workloads, principals)).toEqual(expected);
  });
});

describe('actor classes the server logged otherwise', () => {
  const alice = 'User::"alice"';
  /** Acting-for decisions of `actor`, one per logged class given (undefined: a line without actorClass). */
  const actingAs = (actor: string, classes: (string | undefined)[]): ReadonlyMap<string, Readonly<Record<string, number>>> => {
    const acting = new ActingForAggregator();
    classes.forEach((actorClass, index) =>
      acting.add({ timeMs: index, principal: alice, service: 'tickets.support', action: 'GET', path: '/', decision: index % 2 === 0 ? 'allow' : 'deny', policies: [], reason: '', policyVersion: '', actor, ...(actorClass === undefined ? {} : { actorClass }) }),
    );
    return acting.loggedClasses();
  };
  test.each<{ name: string; logged: ReadonlyMap<string, Readonly<Record<string, number>>>; expected: Finding[] }>([
    { name: 'lines without actorClass say nothing', logged: actingAs(builder, [undefined, undefined]), expected: [] },
    { name: 'the class the inventory gives', logged: actingAs(builder, ['build', 'build']), expected: [] },
    {
      name: 'a build job acting for people that the server did not treat as one is high',
      logged: actingAs(builder, ['service', 'service', 'build', undefined]),
      expected: [
        {
          kind: 'actor-class-mismatch',
          severity: 'high',
          message: `${builder} is "build" in the inventory but the server logged it acting for others as "service" in 2 acting-for decisions`,
          actor: builder,
          inventoryClass: 'build',
          loggedClasses: { service: 2, build: 1 },
        },
      ],
    },
    {
      name: 'any other disagreement is medium',
      logged: actingAs(web, ['agent']),
      expected: [
        {
          kind: 'actor-class-mismatch',
          severity: 'medium',
          message: `${web} is "service" in the inventory but the server logged it acting for others as "agent" in 1 acting-for decision`,
          actor: web,
          inventoryClass: 'service',
          loggedClasses: { agent: 1 },
        },
      ],
    },
    { name: 'actors outside the inventory are not mismatches', logged: actingAs('Workload::"spiffe://cluster.local/ns/x/sa/y"', ['build']), expected: [] },
  ])('$name', ({ logged, expected }) => {
    expect(actorClassMismatches(inventory.workloads, logged)).toEqual(expected);
  });
});

describe('repeated denies', () => {
  const known = new Set([web, builder]);
  const uses = [use(builder, 'orders.shop', 'GET', 0, 7), use(builder, 'orders.shop', 'POST', 0, 2), use(builder, 'catalog.shop', 'DELETE', 0, 3), use(web, 'orders.shop', 'POST', 10, 5)];
  test.each<{ name: string; threshold: number; principals: PrincipalActivity[]; expected: Finding[] }>([
    { name: 'below the threshold', threshold: 13, principals: [activity(builder, 0, 12)], expected: [] },
    {
      name: 'at the threshold, nothing allowed: high, with the most denied targets first',
      threshold: 12,
      principals: [activity(builder, 0, 12, { policy_denied: 12 })],
      expected: [
        {
          kind: 'repeated-denies',
          severity: 'high',
          message: `${builder} was denied 12 times (threshold 12; 0 allowed; policy_denied 12)`,
          principal: builder,
          denies: 12,
          allows: 0,
          threshold: 12,
          inInventory: true,
          denyReasons: { policy_denied: 12 },
          topTargets: [
            { service: 'orders.shop', action: 'GET', denies: 7 },
            { service: 'catalog.shop', action: 'DELETE', denies: 3 },
            { service: 'orders.shop', action: 'POST', denies: 2 },
          ],
          ...seen,
        },
      ],
    },
    {
      name: 'some allowed: medium; most denied principal first; unattributed requests skipped',
      threshold: 5,
      principals: [activity(web, 10, 5, { policy_denied: 5 }), activity(builder, 0, 12, { policy_denied: 12 }), activity('', 0, 50, { token_expired: 50 })],
      expected: [
        expect.objectContaining({ principal: builder, severity: 'high' }) as Finding,
        expect.objectContaining({ principal: web, severity: 'medium', denies: 5, allows: 10, topTargets: [{ service: 'orders.shop', action: 'POST', denies: 5 }] }) as Finding,
      ],
    },
    {
      name: 'an identity outside the inventory is marked so',
      threshold: 1,
      principals: [activity('User::"mallory"', 0, 3, { policy_denied: 2, credential_revoked: 1 })],
      expected: [
        {
          kind: 'repeated-denies',
          severity: 'high',
          message: 'User::"mallory" was denied 3 times (threshold 1; 0 allowed; policy_denied 2, credential_revoked 1)',
          principal: 'User::"mallory"',
          denies: 3,
          allows: 0,
          threshold: 1,
          inInventory: false,
          denyReasons: { policy_denied: 2, credential_revoked: 1 },
          topTargets: [],
          ...seen,
        },
      ],
    },
  ])('$name', ({ threshold, principals, expected }) => {
    expect(repeatedDenies(principals, uses, known, threshold)).toEqual(expected);
  });
});

describe('idle policies', () => {
  const policies = analyzePolicies(
    engineOf({
      'p.cedar': `@id("used") permit (principal, action == Action::"GET", resource) when { context.path == "/a" };
@id("idle-permit") permit (principal, action == Action::"PUT", resource) when { context.path == "/b" };
@id("idle-forbid") forbid (principal, action == Action::"DELETE", resource);`,
    }),
  );
  test.each<{ name: string; counts: [string, number][]; expected: Finding[] }>([
    {
      name: 'permits and forbids that determined nothing',
      counts: [['used', 4]],
      expected: [
        { kind: 'idle-policy', severity: 'low', message: 'permit idle-permit allowed no request in the window', policy: 'idle-permit', effect: 'permit', file: 'p.cedar', line: 2 },
        { kind: 'idle-policy', severity: 'low', message: 'forbid idle-forbid denied no request in the window (a guard that never fired may still be wanted)', policy: 'idle-forbid', effect: 'forbid', file: 'p.cedar', line: 3 },
      ],
    },
    { name: 'every policy determined something', counts: [['used', 1], ['idle-permit', 1], ['idle-forbid', 2]], expected: [] },
    { name: 'ids of other policy versions do not count', counts: [['old-policy', 9], ['used', 1], ['idle-permit', 1], ['idle-forbid', 1]], expected: [] },
  ])('$name', ({ counts, expected }) => {
    expect(idlePolicies(policies, new Map(counts))).toEqual(expected);
  });
});

describe('over-broad policies', () => {
  const analyze = (text: string): AnalyzedPolicy[] => analyzePolicies(engineOf({ 'p.cedar': text }));
  const builds = new Set([builder]);
  test.each<{ name: string; text: string; cells: MatrixCell[]; expected: Finding[] }>([
    { name: 'a narrow permit', text: `@id("narrow") permit (principal == Workload::"${ids.frontend}", action, resource == Service::"orders.shop");`, cells: [], expected: [] },
    {
      name: 'any principal and any resource with no condition: high',
      text: '@id("open") permit (principal, action == Action::"GET", resource);',
      cells: [],
      expected: [{ kind: 'over-broad-policy', severity: 'high', message: 'permit open: its scope admits any principal and any resource with no condition', policy: 'open', file: 'p.cedar', line: 1, reasons: ['any-principal', 'any-resource'], buildIdentities: [] }],
    },
    {
      name: '`is` without `in` is as open; a condition makes it medium',
      text: '@id("workloads-health") permit (principal is Workload, action == Action::"GET", resource == Service::"orders.shop") when { context.path == "/healthz" };',
      cells: [],
      expected: [{ kind: 'over-broad-policy', severity: 'medium', message: 'permit workloads-health: its scope admits any principal, narrowed only by its conditions', policy: 'workloads-health', file: 'p.cedar', line: 1, reasons: ['any-principal'], buildIdentities: [] }],
    },
    {
      name: 'a build identity granted a namespace: high',
      text: '@id("ci-shop") permit (principal in Namespace::"ci", action in Action::"read", resource in Namespace::"shop");',
      cells: [cell(builder, 'orders.shop', 'GET', ['ci-shop']), cell(builder, 'catalog.shop', 'GET', ['ci-shop'])],
      expected: [{ kind: 'over-broad-policy', severity: 'high', message: `permit ci-shop: it gives build identity ${builder} access across a namespace`, policy: 'ci-shop', file: 'p.cedar', line: 1, reasons: ['build-namespace-access'], buildIdentities: [builder] }],
    },
    { name: 'a namespace permit a forbid keeps from build identities (no cell) is fine', text: '@id("ci-shop") permit (principal in Namespace::"ci", action in Action::"read", resource in Namespace::"shop");', cells: [], expected: [] },
    { name: 'a build identity granted one named service is fine', text: `@id("pull") permit (principal == Workload::"${ids.builder}", action, resource == Service::"artifacts.registry");`, cells: [cell(builder, 'artifacts.registry', 'GET', ['pull'])], expected: [] },
    { name: 'forbids are meant to be broad', text: '@id("guard") forbid (principal, action, resource) when { context.path like "/internal/*" };', cells: [], expected: [] },
  ])('$name', ({ text, cells, expected }) => {
    expect(overBroadPolicies(analyze(text), cells, builds)).toEqual(expected);
  });
});

describe('all findings', () => {
  test('without a log only the policy findings are made; sorted by severity then kind', () => {
    const engine = engineOf({ 'p.cedar': '@id("open") permit (principal, action == Action::"GET", resource) when { context.path == "/x" };\n@id("wide") permit (principal, action, resource);' });
    const findings = allFindings({ inventory, policies: analyzePolicies(engine), matrix: { cells: [], evaluations: 0, errors: [] }, observed: undefined, unknownServices: [], actingFor: [], actorClasses: new Map(), denyThreshold: 5 });
    expect(findings.map((finding) => `${finding.severity} ${finding.kind} ${'policy' in finding ? finding.policy : ''}`)).toEqual(['high over-broad-policy wide', 'medium over-broad-policy open']);
  });

  test('sortFindings keeps each finder order within a severity and kind', () => {
    const low = (policy: string): Finding => ({ kind: 'idle-policy', severity: 'low', message: policy, policy, effect: 'permit', file: 'f', line: 1 });
    const unseen: Finding = { kind: 'unseen-identity', severity: 'low', message: 'u', principal: 'p', class: 'service', namespace: null };
    expect(sortFindings([low('b'), unseen, low('a')]).map((finding) => finding.message)).toEqual(['u', 'b', 'a']);
  });
});
