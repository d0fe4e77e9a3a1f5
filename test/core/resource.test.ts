import { serviceFromRequest, serviceNameFromHost } from '../../src/core/resource.js';

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
    // Only two non-empty labels name a namespace.
    [{ service: 'orders' }, 'x', { name: 'orders', namespace: undefined, from: 'route' }],
    [{ service: '.shop' }, 'x', { name: '.shop', namespace: undefined, from: 'route' }],
    [{ service: 'orders.' }, 'x', { name: 'orders.', namespace: undefined, from: 'route' }],
    [{ service: 'a.b.c' }, 'x', { name: 'a.b.c', namespace: undefined, from: 'route' }],
    [{ service: 'a..b' }, 'x', { name: 'a..b', namespace: undefined, from: 'route' }],
    [{ service: '.' }, 'x', { name: '.', namespace: undefined, from: 'route' }],
  ])('%j with host %s', (extensions, host, expected) => {
    expect(serviceFromRequest(new Map(Object.entries(extensions)), host)).toEqual(expected);
  });
});

describe('serviceFromRequest: hosts worked out once', () => {
  const none = new Map<string, string>();
  const fresh = (host: string) => {
    const name = serviceNameFromHost(host);
    const dot = name.indexOf('.');
    const namespace = dot > 0 && dot < name.length - 1 && name.indexOf('.', dot + 1) === -1 ? name.slice(dot + 1) : undefined;
    return { name, namespace, from: 'host' };
  };

  test('each host gets its own service, in any order, past the bound and for hosts too long to remember', () => {
    const hosts = ['orders.shop.svc.cluster.local:8080', 'users.shop.svc', 'orders.other.svc', `${'a'.repeat(300)}.shop.svc`, 'orders.shop.svc.cluster.local:8080'];
    for (let i = 0; i < 3000; i++) hosts.push(`s${i % 1500}.ns${i % 7}.svc`);
    hosts.push(...hosts.slice(0, 5));
    const wrong = hosts.filter((host) => JSON.stringify(serviceFromRequest(none, host)) !== JSON.stringify(fresh(host)));
    expect(wrong).toEqual([]);
  });

  test('a route still names the service whatever host was seen before', () => {
    expect(serviceFromRequest(none, 'orders.shop.svc')).toEqual({ name: 'orders.shop', namespace: 'shop', from: 'host' });
    expect(serviceFromRequest(new Map([['service', 'billing.pay']]), 'orders.shop.svc')).toEqual({ name: 'billing.pay', namespace: 'pay', from: 'route' });
  });
});
