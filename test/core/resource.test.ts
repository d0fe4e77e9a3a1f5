import { namespaceOfPrincipal, serviceFromRequest, serviceNameFromHost } from '../../src/core/resource.js';

describe('serviceNameFromHost', () => {
  test.each([
    ['orders.shop.svc.cluster.local:8080', 'orders.shop'],
    ['orders.shop.svc', 'orders.shop'],
    ['Orders.Shop.SVC.cluster.local.', 'orders.shop'],
    ['orders.shop', 'orders.shop'],
    ['orders', 'orders'],
    ['orders.shop.example.com', 'orders.shop.example.com'],
    // Regression: anything after `.svc` was dropped, so a foreign host passed for a cluster service.
    ['orders.shop.svc.evil.example', 'orders.shop.svc.evil.example'],
    ['[::1]:8080', '[::1]:8080'],
  ])('%s → %s', (host, expected) => {
    expect(serviceNameFromHost(host)).toBe(expected);
  });
});

describe('serviceFromRequest', () => {
  test.each([
    [{ service: 'orders.shop' }, 'ignored.host', { name: 'orders.shop', namespace: 'shop', from: 'route' }],
    [{}, 'orders.shop.svc.cluster.local', { name: 'orders.shop', namespace: 'shop', from: 'host' }],
    [{}, 'artifacts.registry.example', { name: 'artifacts.registry.example', namespace: undefined, from: 'host' }],
    [{ service: '' }, 'orders.shop', { name: 'orders.shop', namespace: 'shop', from: 'host' }],
  ])('%j with host %s', (extensions, host, expected) => {
    expect(serviceFromRequest(new Map(Object.entries(extensions)), host)).toEqual(expected);
  });
});

test.each([
  ['spiffe://cluster.local/ns/shop/sa/orders', 'shop'],
  ['spiffe://cluster.local/ns/shop/sa/orders/extra', undefined],
  ['spiffe://cluster.local/workload', undefined],
  // Issue #14: SPIFFE IDs have a lower-case scheme everywhere, the destination's too.
  ['SPIFFE://cluster.local/ns/shop/sa/orders', undefined],
  ['', undefined],
])('namespaceOfPrincipal(%j) is %j', (principal, expected) => {
  expect(namespaceOfPrincipal(principal)).toBe(expected);
});
