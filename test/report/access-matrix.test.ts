import type { PolicyEngine } from '../../src/policy/cedar/engine.js';
import { cellKey, computeAccessMatrix, matrixActions, probesFor, type AccessMatrix, type MatrixCell } from '../../src/report/access-matrix.js';
import { analyzePolicies } from '../../src/report/analyzed-policy.js';
import type { Inventory } from '../../src/report/inventory.js';
import { actionScopeMatches, entityScopeMatches } from '../../src/report/policy-scope.js';
import { reviewIdentities, serviceTarget } from '../../src/report/review-identity.js';
import { cedarRequest } from '../policy/policy-fixtures.js';
import { engineOf, exampleEngine, exampleInventoryYaml, ids, inventoryOf, principal } from './fixtures.js';

function matrixOf(engine: PolicyEngine, inventory: Inventory, sourceIp = '10.0.0.1'): AccessMatrix {
  return computeAccessMatrix(engine, analyzePolicies(engine), reviewIdentities(inventory), inventory.services, { sourceIp });
}

function lookup(matrix: AccessMatrix): (who: string, service: string, action: string) => MatrixCell | undefined {
  const cells = new Map(matrix.cells.map((cell) => [cellKey(cell.principal, cell.service, cell.action), cell]));
  return (who, service, action) => cells.get(cellKey(who, service, action));
}

const anonymous = 'Anonymous::"anonymous"';

describe('the access matrix of the shipped example policies', () => {
  let matrix: AccessMatrix;
  let cell: ReturnType<typeof lookup>;
  beforeAll(async () => {
    matrix = matrixOf(await exampleEngine(), inventoryOf(exampleInventoryYaml));
    cell = lookup(matrix);
  });

  test('frontend → orders.shop GET is conditional on /api/orders and what lies under it', () => {
    expect(cell(principal(ids.frontend), 'orders.shop', 'GET')).toEqual({
      principal: principal(ids.frontend),
      service: 'orders.shop',
      action: 'GET',
      access: 'conditional',
      policies: ['frontend-reads-orders'],
      allowedWhen: [
        { path: '/api/orders', condition: '== "/api/orders"', tags: [] },
        { path: '/api/orders/x', condition: 'like "/api/orders/*"', tags: [] },
      ],
      deniedWhen: [{ path: '/', condition: null, tags: [] }],
    });
  });

  test('frontend reads orders and catalog, and nothing else', () => {
    const granted = matrix.cells.filter((found) => found.principal === principal(ids.frontend)).map((found) => `${found.service} ${found.action} ${found.access}`);
    expect(granted).toEqual([
      'orders.shop GET conditional',
      'orders.shop HEAD conditional',
      'orders.shop OPTIONS conditional',
      'catalog.shop GET conditional',
      'catalog.shop HEAD conditional',
      'catalog.shop OPTIONS conditional',
    ]);
  });

  test('the build job may call no shop service with any action', () => {
    for (const service of ['orders.shop', 'catalog.shop', 'payments.shop']) {
      for (const action of matrixActions) expect(cell(principal(ids.builder), service, action)).toBeUndefined();
    }
    expect(cell(principal(ids.builder), 'artifacts.registry', 'GET')).toMatchObject({ access: 'conditional', allowedWhen: [{ path: '/v2/x', condition: 'like "/v2/*"' }] });
  });

  test('checkout writes orders only under /api/orders and only with the x-tenant header', () => {
    expect(cell(principal(ids.checkout), 'orders.shop', 'POST')).toMatchObject({
      access: 'conditional',
      policies: ['checkout-writes-orders'],
      allowedWhen: [
        { path: '/api/orders', condition: '== "/api/orders"', tags: [{ on: 'headers', name: 'x-tenant', value: 'x' }] },
        { path: '/api/orders/x', condition: 'like "/api/orders/*"', tags: [{ on: 'headers', name: 'x-tenant', value: 'x' }] },
      ],
    });
    expect(cell(principal(ids.checkout), 'orders.shop', 'GET')).toBeUndefined();
  });

  test('monitoring scrapes /metrics of every service, GET only', () => {
    for (const service of ['orders.shop', 'catalog.shop', 'payments.shop', 'artifacts.registry']) {
      expect(cell(principal(ids.prometheus), service, 'GET')).toMatchObject({ access: 'conditional', policies: ['monitoring-scrapes-metrics'], allowedWhen: [{ path: '/metrics' }] });
      expect(cell(principal(ids.prometheus), service, 'HEAD')).toBeUndefined();
    }
  });

  test('the anonymous caller is a row: GET on /healthz and /readyz of every service', () => {
    expect(cell(anonymous, 'payments.shop', 'GET')).toMatchObject({
      access: 'conditional',
      policies: ['anonymous-reads-health'],
      allowedWhen: [
        { path: '/healthz', condition: '== "/healthz"' },
        { path: '/readyz', condition: '== "/readyz"' },
      ],
    });
    expect(cell(anonymous, 'payments.shop', 'HEAD')).toBeUndefined();
  });

  test('the reconciler writes admin pages of the shop with POST and PUT, never PATCH', () => {
    expect(cell(principal(ids.reconciler), 'catalog.shop', 'PUT')).toMatchObject({ access: 'conditional', policies: ['reconciler-writes-admin'], allowedWhen: [{ path: '/admin/x' }] });
    expect(cell(principal(ids.reconciler), 'catalog.shop', 'PATCH')).toBeUndefined();
    expect(cell(principal(ids.reconciler), 'artifacts.registry', 'GET')).toBeUndefined();
  });

  test('no evaluation errors', () => {
    expect(matrix.errors).toEqual([]);
  });
});

describe('access matrix cases', () => {
  const inventory = inventoryOf(`workloads:
  - {spiffeId: "${ids.frontend}", class: service}
  - {spiffeId: "${ids.builder}", class: build}
  - {spiffeId: "${ids.reconciler}", class: automation}
services: [orders.shop, catalog.shop]
`);

  test('a permit without conditions is allow on every path; the policy is recorded', () => {
    const engine = engineOf({ 'p.cedar': `@id("fe-all") permit (principal == Workload::"${ids.frontend}", action == Action::"GET", resource == Service::"catalog.shop");` });
    expect(matrixOf(engine, inventory).cells).toEqual([
      { principal: principal(ids.frontend), service: 'catalog.shop', action: 'GET', access: 'allow', policies: ['fe-all'], allowedWhen: [], deniedWhen: [] },
    ]);
  });

  test('a forbid on some paths makes an unconditional permit conditional', () => {
    const engine = engineOf({
      'p.cedar': `@id("fe-all") permit (principal == Workload::"${ids.frontend}", action == Action::"GET", resource);
@id("no-admin") forbid (principal, action, resource) when { context.path like "/admin/*" };`,
    });
    expect(lookup(matrixOf(engine, inventory))(principal(ids.frontend), 'orders.shop', 'GET')).toEqual({
      principal: principal(ids.frontend),
      service: 'orders.shop',
      action: 'GET',
      access: 'conditional',
      policies: ['fe-all'],
      allowedWhen: [{ path: '/', condition: null, tags: [] }],
      deniedWhen: [{ path: '/admin/x', condition: 'like "/admin/*"', tags: [] }],
    });
  });

  test('a namespace-wide permit for build jobs is still denied in the shop by the forbid', () => {
    const engine = engineOf({
      'p.cedar': `@id("ci-everything") permit (principal in Namespace::"ci", action, resource in Namespace::"shop");
@id("no-build-jobs-in-shop") forbid (principal is Workload, action, resource in Namespace::"shop") when { principal.class == "build" };`,
    });
    expect(matrixOf(engine, inventory).cells).toEqual([]);
  });

  test('the source address matters when policies test it', async () => {
    const engine = await exampleEngine();
    const fromPods = lookup(matrixOf(engine, inventory, '10.1.2.3'));
    const fromOutside = lookup(matrixOf(engine, inventory, '192.0.2.1'));
    expect(fromPods(principal(ids.reconciler), 'orders.shop', 'GET')?.access).toBe('conditional');
    expect(fromOutside(principal(ids.reconciler), 'orders.shop', 'GET')).toBeUndefined();
  });

  test('cells no permit scope reaches are denied without asking Cedar', () => {
    const engine = engineOf({ 'p.cedar': `@id("sre") permit (principal in Group::"sre", action, resource);` });
    const matrix = matrixOf(engine, inventory);
    expect(matrix).toEqual({ cells: [], evaluations: 0, errors: [] });
  });
});

describe('pruning by scope is exact', () => {
  test('on the example estate, Cedar over the policies whose scope reaches a request answers as Cedar over the whole set', async () => {
    const engine = await exampleEngine();
    const policies = analyzePolicies(engine);
    const inventory = inventoryOf(exampleInventoryYaml);
    let compared = 0;
    for (const identity of reviewIdentities(inventory)) {
      for (const service of inventory.services) {
        for (const action of matrixActions) {
          const relevant = policies.filter(
            (policy) =>
              entityScopeMatches(policy.scope.principal, identity.target) &&
              entityScopeMatches(policy.scope.resource, serviceTarget(service)) &&
              actionScopeMatches(policy.scope.action, action),
          );
          // A cell the matrix skips is tried on the paths of the permits its principal has elsewhere.
          const hasPermit = relevant.some((policy) => policy.effect === 'permit');
          const probes = hasPermit ? probesFor(relevant) : probesFor(policies.filter((policy) => policy.effect === 'permit' && entityScopeMatches(policy.scope.principal, identity.target)));
          for (const probe of probes) {
            const headers = Object.fromEntries(probe.tags.filter((tag) => tag.on === 'headers').map((tag) => [tag.name, tag.value]));
            const request = cedarRequest(identity.identity, { method: action, service: service.name, path: probe.path, headers, sourceIp: '10.0.0.1' });
            const whole = engine.authorize(request);
            expect({ action, service: service.name, who: identity.principal, path: probe.path, ...engine.authorizeAmong(relevant.map((policy) => policy.id), request) }).toEqual({
              action,
              service: service.name,
              who: identity.principal,
              path: probe.path,
              ...whole,
            });
            if (!hasPermit) expect(whole.decision).toBe('deny');
            compared += 1;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(300);
  });

  test('authorizeAmong ignores ids not in the set, and an empty subset denies', async () => {
    const engine = await exampleEngine();
    const frontend = reviewIdentities(inventoryOf(exampleInventoryYaml))[0]!.identity;
    const request = cedarRequest(frontend, { method: 'GET', service: 'orders.shop', path: '/api/orders' });
    expect(engine.authorizeAmong(['frontend-reads-orders', 'no-such-policy'], request)).toEqual({ decision: 'allow', determining: ['frontend-reads-orders'], errors: [] });
    expect(engine.authorizeAmong([], request)).toEqual({ decision: 'deny', determining: [], errors: [] });
  });
});
