import type { PolicyEngine } from '../../src/policy/engine.js';
import { cellKey, computeAccessMatrix, matrixActions, type AccessMatrix, type MatrixCell } from '../../src/report/access-matrix.js';
import { analyzePolicies } from '../../src/report/analyzed-policy.js';
import type { Inventory } from '../../src/report/inventory.js';
import { reviewIdentities } from '../../src/report/review-identity.js';
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

  test('frontend → orders.shop GET is conditional on /api/orders*', () => {
    expect(cell(principal(ids.frontend), 'orders.shop', 'GET')).toEqual({
      principal: principal(ids.frontend),
      service: 'orders.shop',
      action: 'GET',
      access: 'conditional',
      policies: ['frontend-reads-orders'],
      allowedWhen: [{ path: '/api/orders', condition: 'like "/api/orders*"', tags: [] }],
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
