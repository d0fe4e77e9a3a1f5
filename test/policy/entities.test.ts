/**
 * Golden tests: the Cedar request and entities built for each of Envoy's request vectors, and
 * tables for the parts policies depend on (resource naming, addresses, headers, query).
 */
import { readFileSync } from 'node:fs';
import { requestFacts, type CheckRequestMessage } from '../../src/core/decode.js';
import type { Identity } from '../../src/core/identity.js';
import type { RequestFacts } from '../../src/core/request-facts.js';
import type { CedarEntity, CedarRequest } from '../../src/core/cedar-request.js';
import { buildCedarRequest, cedarIpAddress, knownActions } from '../../src/policy/entities.js';
import { parsedSubject } from '../support/subject.js';
import { spiffeId as spiffe } from '../support/expect-ok.js';

const vectorIndex = new URL('../fixtures/ext_authz/index.json', import.meta.url);
const vectors = (JSON.parse(readFileSync(vectorIndex, 'utf8')) as { requests: Record<string, { message: unknown }> }).requests;

/** index.json spells bytes as base64; the decoder takes them as bytes, as proto-loader gives them. */
function factsOf(name: string): RequestFacts {
  const message = structuredClone(vectors[name]?.message) as { attributes?: { request?: { http?: { header_map?: { headers: { raw_value?: unknown }[] } } } } };
  if (message === undefined) throw new Error(`no vector ${name}`);
  for (const header of message.attributes?.request?.http?.header_map?.headers ?? []) {
    if (typeof header.raw_value === 'string') header.raw_value = Buffer.from(header.raw_value, 'base64');
  }
  return requestFacts(message as CheckRequestMessage, { maxHeaders: 200, maxHeaderBytes: 65536 });
}


const frontend: Identity = { kind: 'workload', spiffeId: spiffe('spiffe://cluster.local/ns/shop/sa/frontend'), class: 'service', authn: 'mtls' };
const invoicerByToken: Identity = {
  kind: 'workload',
  spiffeId: spiffe('spiffe://cluster.local/ns/billing/sa/invoicer'),
  class: 'service',
  authn: 'jwt',
  issuer: 'https://kubernetes.default.svc.cluster.local',
};
const sreUser: Identity = { kind: 'user', issuer: 'https://login.example.com', subject: 'alice', name: 'alice', groups: ['sre', 'oncall', 'sre'] };

const uid = (type: string, id: string) => ({ type, id });
const headersRef = { __entity: uid('Headers', 'request') };
const queryRef = { __entity: uid('Query', 'request') };
const ns = (name: string): CedarEntity => ({ uid: uid('Namespace', name), attrs: {}, parents: [], tags: {} });
const frontendEntity: CedarEntity = {
  uid: uid('Workload', 'spiffe://cluster.local/ns/shop/sa/frontend'),
  attrs: { spiffeId: 'spiffe://cluster.local/ns/shop/sa/frontend', trustDomain: 'cluster.local', class: 'service', namespace: 'shop', serviceAccount: 'frontend' },
  parents: [uid('Namespace', 'shop')],
};
const ordersShop: CedarEntity = { uid: uid('Service', 'orders.shop'), attrs: { name: 'orders.shop', namespace: 'shop' }, parents: [uid('Namespace', 'shop')] };
const headers = (tags: Record<string, string>): CedarEntity => ({ uid: uid('Headers', 'request'), attrs: {}, parents: [], tags });
const query = (tags: Record<string, string>): CedarEntity => ({ uid: uid('Query', 'request'), attrs: {}, parents: [], tags });
const ip = (address: string) => ({ __extn: { fn: 'ip', arg: address } });

const golden: { vector: string; identity: Identity; expected: CedarRequest }[] = [
  {
    vector: 'mtls-get',
    identity: frontend,
    expected: {
      principal: uid('Workload', 'spiffe://cluster.local/ns/shop/sa/frontend'),
      action: uid('Action', 'GET'),
      resource: uid('Service', 'orders.shop'),
      context: {
        path: '/api/orders/42',
        method: 'GET',
        host: 'orders.shop.svc.cluster.local:8080',
        scheme: 'http',
        authn: { method: 'mtls' },
        headers: headersRef,
        query: queryRef,
        source: { ip: ip('10.1.2.3'), port: 51234 },
      },
      entities: [
        frontendEntity,
        ordersShop,
        ns('shop'),
        headers({ 'x-request-id': '4f1c2a9e-7c55-4a3e-9a7c-3f2d1e0b9a11', 'user-agent': 'curl/8.5.0' }),
        query({ expand: 'items' }),
      ],
    },
  },
  {
    // No service in context_extensions: the resource comes from the host. Repeated headers arrive joined.
    vector: 'header-map-raw',
    identity: frontend,
    expected: {
      principal: uid('Workload', 'spiffe://cluster.local/ns/shop/sa/frontend'),
      action: uid('Action', 'DELETE'),
      resource: uid('Service', 'orders.shop'),
      context: {
        path: '/api/orders/42',
        method: 'DELETE',
        host: 'orders.shop.svc.cluster.local:8080',
        scheme: 'http',
        authn: { method: 'mtls' },
        headers: headersRef,
        query: queryRef,
        source: { ip: ip('10.1.2.4'), port: 40000 },
      },
      entities: [
        frontendEntity,
        ordersShop,
        ns('shop'),
        headers({ 'x-tenant': 'acme,globex', 'x-request-id': '0b6f7c1e-2d1a-4c3b-8e9f-112233445566' }),
        query({}),
      ],
    },
  },
  {
    // The bearer token never reaches Cedar: no `authorization` tag.
    vector: 'bearer-post-body',
    identity: sreUser,
    expected: {
      principal: uid('User', 'alice'),
      action: uid('Action', 'POST'),
      resource: uid('Service', 'orders.shop'),
      context: {
        path: '/api/orders',
        method: 'POST',
        host: 'orders.shop.svc.cluster.local:8080',
        scheme: 'http',
        authn: { method: 'jwt', issuer: 'https://login.example.com' },
        headers: headersRef,
        query: queryRef,
        source: { ip: ip('10.1.2.5'), port: 40001 },
      },
      entities: [
        { uid: uid('User', 'alice'), attrs: { issuer: 'https://login.example.com', subject: 'alice' }, parents: [uid('Group', 'sre'), uid('Group', 'oncall')] },
        { uid: uid('Group', 'sre'), attrs: {}, parents: [] },
        { uid: uid('Group', 'oncall'), attrs: {}, parents: [] },
        ordersShop,
        ns('shop'),
        headers({ 'content-type': 'application/json' }),
        query({}),
      ],
    },
  },
  {
    // `http.host` wins over `:authority`, as in the decoder.
    vector: 'peer-certificate',
    identity: frontend,
    expected: {
      principal: uid('Workload', 'spiffe://cluster.local/ns/shop/sa/frontend'),
      action: uid('Action', 'GET'),
      resource: uid('Service', 'orders.shop'),
      context: {
        path: '/api/orders/42',
        method: 'GET',
        host: 'orders.shop.svc.cluster.local:8080',
        scheme: 'http',
        authn: { method: 'mtls' },
        headers: headersRef,
        query: queryRef,
        source: { ip: ip('10.1.2.6'), port: 40002 },
      },
      entities: [frontendEntity, ordersShop, ns('shop'), headers({}), query({ expand: 'items' })],
    },
  },
  {
    vector: 'xfcc',
    identity: frontend,
    expected: {
      principal: uid('Workload', 'spiffe://cluster.local/ns/shop/sa/frontend'),
      action: uid('Action', 'GET'),
      resource: uid('Service', 'orders.shop'),
      context: {
        path: '/api/orders/42',
        method: 'GET',
        host: 'orders.shop.svc.cluster.local:8080',
        scheme: 'http',
        authn: { method: 'mtls' },
        headers: headersRef,
        query: queryRef,
        source: { ip: ip('10.1.2.7'), port: 40003 },
      },
      entities: [
        frontendEntity,
        ordersShop,
        ns('shop'),
        headers({
          'x-forwarded-client-cert':
            'By=spiffe://cluster.local/ns/shop/sa/orders;Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;Subject="O=cluster.local,CN=a\\"b";URI=spiffe://cluster.local/ns/shop/sa/frontend',
        }),
        query({ expand: 'items' }),
      ],
    },
  },
  {
    // A workload token: authn says jwt and names the issuer; principal and resource in different namespaces.
    vector: 'grpc-call-with-metadata',
    identity: invoicerByToken,
    expected: {
      principal: uid('Workload', 'spiffe://cluster.local/ns/billing/sa/invoicer'),
      action: uid('Action', 'POST'),
      resource: uid('Service', 'orders.shop'),
      context: {
        path: '/shop.orders.v1.Orders/GetOrder',
        method: 'POST',
        host: 'orders.shop:9000',
        scheme: 'http',
        authn: { method: 'jwt', issuer: 'https://kubernetes.default.svc.cluster.local' },
        headers: headersRef,
        query: queryRef,
        source: { ip: ip('10.1.2.8'), port: 40004 },
      },
      entities: [
        {
          uid: uid('Workload', 'spiffe://cluster.local/ns/billing/sa/invoicer'),
          attrs: { spiffeId: 'spiffe://cluster.local/ns/billing/sa/invoicer', trustDomain: 'cluster.local', class: 'service', namespace: 'billing', serviceAccount: 'invoicer' },
          parents: [uid('Namespace', 'billing')],
        },
        ordersShop,
        ns('billing'),
        ns('shop'),
        headers({ 'content-type': 'application/grpc', te: 'trailers' }),
        query({}),
      ],
    },
  },
  {
    // Nothing known: the core refuses such a request before Cedar, but building it must not throw.
    vector: 'empty',
    identity: { kind: 'anonymous' },
    expected: {
      principal: uid('Anonymous', 'anonymous'),
      action: uid('Action', ''),
      resource: uid('Service', ''),
      context: { path: '', method: '', host: '', scheme: '', authn: { method: 'none' }, headers: headersRef, query: queryRef, source: {} },
      entities: [{ uid: uid('Anonymous', 'anonymous'), attrs: {}, parents: [] }, { uid: uid('Service', ''), attrs: { name: '' }, parents: [] }, headers({}), query({})],
    },
  },
];

describe('buildCedarRequest on the ext_authz vectors', () => {
  test('every request vector has a golden case', () => {
    expect(golden.map((c) => c.vector).sort()).toEqual(Object.keys(vectors).sort());
  });

  test.each(golden)('$vector', ({ vector, identity, expected }) => {
    const facts = factsOf(vector);
    expect(buildCedarRequest(identity, parsedSubject(facts), facts)).toStrictEqual(expected);
  });
});

/** Facts for one request, everything not given empty. */
function facts(overrides: Partial<RequestFacts>): RequestFacts {
  return {
    requestId: '',
    streamId: '',
    method: 'GET',
    rawPath: '/',
    host: '',
    scheme: 'https',
    protocol: 'HTTP/2',
    headers: new Map(),
    repeatedHeaders: new Set(),
    source: { address: '', port: 0, principal: '', certificate: '' },
    destination: { address: '', port: 0, principal: '', certificate: '' },
    contextExtensions: new Map(),
    sni: '',
    problems: [],
    ...overrides,
  };
}

const root = { path: '/', query: '' };
const anonymous: Identity = { kind: 'anonymous' };
const entityOf = (request: CedarRequest, type: string): CedarEntity | undefined => request.entities.find((e) => e.uid.type === type);

describe('resource', () => {
  test.each([
    { name: 'Kubernetes FQDN with port', host: 'orders.shop.svc.cluster.local:8080', service: 'orders.shop', namespace: 'shop' },
    // Only cluster.local is taken apart; other cluster domains name the service in context_extensions.
    { name: 'other cluster domain', host: 'orders.shop.svc.corp.internal', service: 'orders.shop.svc.corp.internal', namespace: undefined },
    { name: 'NAME.NS.svc', host: 'orders.shop.svc', service: 'orders.shop', namespace: 'shop' },
    { name: 'NAME.NS', host: 'orders.shop', service: 'orders.shop', namespace: 'shop' },
    { name: 'NAME.NS with port, upper case, trailing dot', host: 'Orders.Shop.:443', service: 'orders.shop', namespace: 'shop' },
    { name: 'single label', host: 'orders:8080', service: 'orders', namespace: undefined },
    { name: 'external name keeps every label and no namespace', host: 'orders.shop.example.com', service: 'orders.shop.example.com', namespace: undefined },
    { name: 'IP address', host: '10.1.9.9:8080', service: '10.1.9.9', namespace: undefined },
  ])('$name: $host → $service', ({ host, service, namespace }) => {
    const request = buildCedarRequest(anonymous, parsedSubject(facts({ host }), root), facts({ host }));
    expect(request.resource).toStrictEqual(uid('Service', service));
    expect(entityOf(request, 'Service')).toStrictEqual({
      uid: uid('Service', service),
      attrs: namespace === undefined ? { name: service } : { name: service, namespace },
      parents: namespace === undefined ? [] : [uid('Namespace', namespace)],
    });
  });

  test('context_extensions["service"] wins over the host', () => {
    const request = buildCedarRequest(anonymous, parsedSubject(facts({ host: 'gateway.edge:443', contextExtensions: new Map([['service', 'payments.shop']]) }), root), facts({ host: 'gateway.edge:443', contextExtensions: new Map([['service', 'payments.shop']]) }));
    expect(request.resource).toStrictEqual(uid('Service', 'payments.shop'));
  });
});

describe('principal', () => {
  // Issue #14: a person is named by their issuer's prefix; the raw `sub` stays the subject attribute.
  test("a person is User::\"<userPrefix><sub>\" in Group::\"<groupPrefix><group>\"", () => {
    const identity: Identity = { kind: 'user', issuer: 'https://partner.example', subject: 'alice', name: 'partner:alice', groups: ['partner-group:sre'] };
    const request = buildCedarRequest(identity, parsedSubject(facts({}), root), facts({}));
    expect(request.principal).toStrictEqual(uid('User', 'partner:alice'));
    expect(request.entities[0]).toStrictEqual({
      uid: uid('User', 'partner:alice'),
      attrs: { issuer: 'https://partner.example', subject: 'alice' },
      parents: [uid('Group', 'partner-group:sre')],
    });
  });

  test('a SPIFFE ID without the Kubernetes form has no namespace', () => {
    const identity: Identity = { kind: 'workload', spiffeId: spiffe('spiffe://example.org/batch/nightly'), class: 'unknown', authn: 'mtls' };
    const request = buildCedarRequest(identity, parsedSubject(facts({}), root), facts({}));
    expect(request.entities[0]).toStrictEqual({
      uid: uid('Workload', 'spiffe://example.org/batch/nightly'),
      attrs: { spiffeId: 'spiffe://example.org/batch/nightly', trustDomain: 'example.org', class: 'unknown' },
      parents: [],
    });
    expect(entityOf(request, 'Namespace')).toBeUndefined();
  });

  test('a workload and a service of one namespace share one Namespace entity', () => {
    const request = buildCedarRequest(frontend, parsedSubject(facts({ host: 'orders.shop' }), root), facts({ host: 'orders.shop' }));
    expect(request.entities.filter((e) => e.uid.type === 'Namespace')).toStrictEqual([ns('shop')]);
  });

  test('namespace labels become tags', () => {
    const labels = new Map([['shop', new Map([['team', 'checkout'], ['tier', 'prod']])]]);
    const request = buildCedarRequest(frontend, parsedSubject(facts({ host: 'orders.shop' }), root), facts({ host: 'orders.shop' }), { namespaceLabels: (name) => labels.get(name) });
    expect(entityOf(request, 'Namespace')).toStrictEqual({ uid: uid('Namespace', 'shop'), attrs: {}, parents: [], tags: { team: 'checkout', tier: 'prod' } });
  });
});

describe('context', () => {
  test.each([
    { name: 'IPv4', address: '10.1.2.3', ip: '10.1.2.3' },
    { name: 'IPv6', address: '2001:db8::1', ip: '2001:db8::1' },
    { name: 'IPv4-mapped IPv6 (dual-stack listener)', address: '::ffff:10.1.2.3', ip: '10.1.2.3' },
    { name: 'IPv6 with zone id', address: 'fe80::1%eth0', ip: 'fe80::1' },
    { name: 'other IPv4 embedded in IPv6, which Cedar refuses', address: '64:ff9b::10.1.2.3', ip: undefined },
    { name: 'leading zeros', address: '010.1.2.3', ip: undefined },
    { name: 'a Unix socket path', address: '/run/envoy.sock', ip: undefined },
    { name: 'empty', address: '', ip: undefined },
  ])('source address $name', ({ address, ip: expected }) => {
    expect(cedarIpAddress(address)).toBe(expected);
    const request = buildCedarRequest(anonymous, parsedSubject(facts({ source: { address, port: 0, principal: '', certificate: '' } }), root), facts({ source: { address, port: 0, principal: '', certificate: '' } }));
    expect(request.context.source).toStrictEqual(expected === undefined ? {} : { ip: ip(expected) });
  });

  test('credentials and pseudo-headers are never tags', () => {
    const withCredentials = facts({
      headers: new Map([
        [':path', '/'],
        ['authorization', 'Bearer secret'],
        ['proxy-authorization', 'Basic secret'],
        ['cookie', 'session=secret'],
        ['x-tenant', 'acme'],
      ]),
    });
    const request = buildCedarRequest(anonymous, parsedSubject(withCredentials, root), withCredentials);
    expect(entityOf(request, 'Headers')?.tags).toStrictEqual({ 'x-tenant': 'acme' });
    expect(JSON.stringify(request)).not.toContain('secret');
  });

  test('query: decoded, identical repeats once, different ones joined by ",", __proto__ an ordinary key', () => {
    const request = buildCedarRequest(anonymous, parsedSubject(facts({}), { path: '/search', query: 'tag=a&tag=b&tag=a&q=hello%20world&flag&__proto__=x&q=hello+world' }), facts({}));
    const tags = entityOf(request, 'Query')?.tags;
    expect(tags).toStrictEqual({ tag: 'a,b', q: 'hello world', flag: '', ['__proto__']: 'x' });
    expect(Object.getPrototypeOf(tags)).toBe(Object.prototype);
  });

  test('the path is the decision path, not the raw one', () => {
    const request = buildCedarRequest(anonymous, parsedSubject(facts({ rawPath: '/a/../admin?x=1' }), { path: '/admin', query: 'x=1' }), facts({ rawPath: '/a/../admin?x=1' }));
    expect(request.context.path).toBe('/admin');
  });
});

test('knownActions are the methods of the schema', () => {
  expect([...knownActions].sort()).toEqual(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']);
});

describe('buildCedarRequest: who acts for whom', () => {
  const builderId = 'spiffe://cluster.local/ns/ci/sa/builder';
  const builder: Identity = { kind: 'workload', spiffeId: spiffe(builderId), class: 'build', authn: 'mtls' };
  const builderEntity: CedarEntity = {
    uid: uid('Workload', builderId),
    attrs: { spiffeId: builderId, trustDomain: 'cluster.local', class: 'build', namespace: 'ci', serviceAccount: 'builder' },
    parents: [uid('Namespace', 'ci')],
  };
  const facts = factsOf('mtls-get');
  const aliceViaBuilder: Identity = { ...sreUser, delegation: { actor: builder, actors: [builderId, 'ci-bot'], depth: 2 } };

  test('the actor is a Workload entity of the request, with its class and namespace', () => {
    const request = buildCedarRequest(aliceViaBuilder, parsedSubject(facts), facts);
    expect(request.context.actor).toStrictEqual({ __entity: uid('Workload', builderId) });
    expect(request.context.delegation).toStrictEqual({ depth: 2, actors: [builderId, 'ci-bot'] });
    expect(request.entities).toContainEqual(builderEntity);
    expect(request.entities).toContainEqual(ns('ci'));
  });

  test('a chain without a workload actor has delegation and no actor', () => {
    const request = buildCedarRequest({ ...sreUser, delegation: { actors: ['ci-bot'], depth: 1 } }, parsedSubject(facts), facts);
    expect(request.context.actor).toBeUndefined();
    expect(request.context.delegation).toStrictEqual({ depth: 1, actors: ['ci-bot'] });
  });

  test('nobody acting: neither is present', () => {
    const request = buildCedarRequest(sreUser, parsedSubject(facts), facts);
    expect(request.context).not.toHaveProperty('actor');
    expect(request.context).not.toHaveProperty('delegation');
  });

  test('left out when no policy reads them, so the decision cache does not split on actors', () => {
    const reads = { context: new Set(['path']), headers: new Set<string>(), query: new Set<string>(), sourceIp: false, sourcePort: false, namespaceTags: false, pathTests: 'opaque' as const };
    const request = buildCedarRequest(aliceViaBuilder, parsedSubject(facts), facts, { reads });
    expect(request.context).not.toHaveProperty('actor');
    expect(request.context).not.toHaveProperty('delegation');
    expect(request.entities.map((entity) => entity.uid.id)).not.toContain(builderId);
  });
});
