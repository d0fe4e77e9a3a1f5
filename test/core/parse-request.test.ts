import { requestFacts, type CheckRequestMessage } from '../../src/core/decode.js';
import { parseRequest } from '../../src/core/parse-request.js';

const limits = { maxHeaders: 100, maxHeaderBytes: 65536 };

interface Spec {
  readonly method?: string;
  readonly path?: string;
  readonly host?: string;
  readonly service?: string;
  readonly destination?: string;
  readonly headers?: Record<string, string>;
}

function parse(spec: Spec) {
  const message: CheckRequestMessage = {
    attributes: {
      request: { http: { id: 's1', method: spec.method ?? 'GET', path: spec.path ?? '/api/orders/1', host: spec.host ?? 'orders.shop.svc.cluster.local:8080', headers: { 'x-request-id': 'r1', ...spec.headers } } },
      ...(spec.destination === undefined ? {} : { destination: { principal: spec.destination } }),
      ...(spec.service === undefined ? {} : { context_extensions: { service: spec.service } }),
    },
  };
  return parseRequest(requestFacts(message, limits));
}

describe('parseRequest: every later step reads these values', () => {
  test('a request is parsed once into its subject', () => {
    const parsed = parse({ path: '/api/./orders/%7e1?b=2&a=1', destination: 'spiffe://cluster.local/ns/shop/sa/orders' });
    expect(parsed.ok).toBe(true);
    expect(parsed.request).toMatchObject({
      requestId: 'r1',
      method: 'GET',
      path: '/api/orders/~1',
      query: 'b=2&a=1',
      service: { name: 'orders.shop', namespace: 'shop', from: 'host' },
      trustedNamespace: 'shop',
    });
    expect(parsed.request.destination?.toString()).toBe('spiffe://cluster.local/ns/shop/sa/orders');
  });

  // The caller chooses the Host; only the route or Envoy's own certificate may name the namespace
  // that dry-run and the destination check trust.
  test.each([
    ['the route names it', { service: 'orders.shop', host: 'evil.other.svc' }, 'shop'],
    ['the destination workload names it', { destination: 'spiffe://cluster.local/ns/shop/sa/orders', host: 'orders.shop.svc' }, 'shop'],
    ['only the Host names it', { host: 'orders.shop.svc' }, undefined],
    ['the destination is not in Kubernetes form', { destination: 'spiffe://cluster.local/orders', host: 'orders.shop.svc' }, undefined],
    ['the destination does not parse', { destination: 'spiffe://Cluster.local/ns/shop/sa/orders', host: 'orders.shop.svc' }, undefined],
    // SPIFFE IDs have a lower-case scheme everywhere, the destination's too.
    ['the destination has an upper-case scheme', { destination: 'SPIFFE://cluster.local/ns/shop/sa/orders', host: 'orders.shop.svc' }, undefined],
  ])('trusted namespace when %s', (_name, spec, expected) => {
    expect(parse(spec).request.trustedNamespace).toBe(expected);
  });

  test.each([
    ['a decode problem', { headers: { 'x-a': 'a\r\nb' } }, 'bad_request'],
    ['a path that cannot be normalized', { path: '/api%2Forders' }, 'bad_path'],
    ['a Host naming another namespace than the destination workload', { host: 'orders.other.svc', destination: 'spiffe://cluster.local/ns/shop/sa/orders' }, 'destination_mismatch'],
  ])('%s refuses the request before identity', (_name, spec, code) => {
    const parsed = parse(spec);
    expect(parsed).toMatchObject({ ok: false, code });
  });

  test('a refused path leaves the subject without a path, and the rest parsed', () => {
    const parsed = parse({ path: '/api/%00' });
    expect(parsed).toMatchObject({ ok: false, code: 'bad_path', request: { path: '', query: '', service: { name: 'orders.shop' } } });
  });

  test('the route may name a namespace the destination does not (a shared gateway)', () => {
    expect(parse({ service: 'orders.shop', destination: 'spiffe://cluster.local/ns/gateway/sa/envoy' }).ok).toBe(true);
  });
});
