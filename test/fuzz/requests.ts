/**
 * Inputs for the fuzzers: the ext_authz wire vectors of test/fixtures/ext_authz as seeds, requests
 * that the example policies allow (so mutations start next to an allow, where a wrong answer
 * matters), and structured random requests whose every field may be hostile.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeCheckRequest } from '../../src/wire/protos.js';
import { vectorDir } from '../support/server-process.js';
import { workloads } from './oracle.js';
import { mutateText, randomText, type Random } from './random.js';

/** Every `.bin` of the wire vectors: requests as seeds, responses as donors of odd fields. */
export function vectorSeeds(): { requests: Uint8Array[]; all: Uint8Array[] } {
  const files = readdirSync(vectorDir).filter((name) => name.endsWith('.bin')).sort();
  const read = (name: string): Uint8Array => new Uint8Array(readFileSync(join(vectorDir, name)));
  return { requests: files.filter((name) => name.startsWith('request-')).map(read), all: files.map(read) };
}

export interface Shape {
  readonly principal?: string;
  readonly method?: string;
  readonly path?: string;
  readonly host?: string;
  readonly service?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly token?: string;
  readonly sourceAddress?: string;
  /** Send the headers as `header_map` entries (Envoy's `encode_raw_headers`) instead of `headers`. */
  readonly headerMap?: boolean;
  /** Raw bytes for one header_map entry's value (may be invalid UTF-8). */
  readonly rawHeader?: { key: string; value: Uint8Array };
}

/** A CheckRequest object in the grpc-js shape, as Envoy builds it. */
export function requestObject(shape: Shape): Record<string, unknown> {
  const method = shape.method ?? 'GET';
  const path = shape.path ?? '/';
  const host = shape.host ?? 'orders.shop.svc.cluster.local:8080';
  const headers: Record<string, string> = { ':authority': host, ':method': method, ':path': path, ':scheme': 'http', 'x-request-id': 'fuzz-request', ...shape.headers };
  if (shape.token !== undefined) headers.authorization = `Bearer ${shape.token}`;
  const http: Record<string, unknown> = { id: '1', method, path, host, scheme: 'http', protocol: 'HTTP/1.1' };
  if (shape.headerMap) {
    const entries: Record<string, unknown>[] = Object.entries(headers).map(([key, value]) => ({ key, raw_value: Buffer.from(value, 'utf8') }));
    if (shape.rawHeader) entries.push({ key: shape.rawHeader.key, raw_value: Buffer.from(shape.rawHeader.value) });
    http.header_map = { headers: entries };
  } else {
    http.headers = headers;
  }
  return {
    attributes: {
      source: {
        address: { socket_address: { address: shape.sourceAddress ?? '10.1.2.3', port_value: 51234 } },
        ...(shape.principal === undefined ? {} : { principal: shape.principal }),
      },
      destination: { address: { socket_address: { address: '10.1.9.9', port_value: 8080 } } },
      request: { http },
      ...(shape.service === undefined ? {} : { context_extensions: { service: shape.service } }),
    },
  };
}

export function encodeShape(shape: Shape): Uint8Array {
  return encodeCheckRequest(requestObject(shape));
}

/** One request each example permit allows, plus the same through a token. */
export function allowedShapes(tokens: ReadonlyMap<string, { kind: string; id?: string; subject?: string }>): Shape[] {
  const tokenOf = (match: (e: { kind: string; id?: string; subject?: string }) => boolean): string | undefined =>
    [...tokens].find(([, expected]) => match(expected))?.[0];
  const shapes: Shape[] = [
    { principal: workloads.frontend, path: '/api/orders/42' },
    { principal: workloads.frontend, path: '/api/products/7?color=red', service: 'catalog.shop' },
    { principal: workloads.checkout, method: 'POST', path: '/api/orders', headers: { 'x-tenant': 'acme' } },
    { principal: workloads.checkout, method: 'POST', path: '/api/charges', host: 'payments.shop.svc.cluster.local:8080' },
    { principal: workloads.orders, path: '/api/payments/1', service: 'payments.shop' },
    { principal: workloads.reconciler, path: '/admin/flags', sourceAddress: '10.4.5.6' },
    { principal: workloads.reconciler, method: 'PUT', path: '/admin/flags', sourceAddress: '10.4.5.6' },
    { principal: workloads.builder, path: '/v2/library/node/manifests/24', service: 'artifacts.registry' },
    { principal: workloads.prometheus, path: '/metrics' },
    { principal: workloads.monitoringBuild, path: '/metrics', service: 'exporter.tools' },
    { path: '/healthz' },
    { path: '/readyz', headerMap: true },
  ];
  const frontendToken = tokenOf((e) => e.id === workloads.frontend);
  const sreToken = tokenOf((e) => e.subject === 'alice');
  if (frontendToken) shapes.push({ token: frontendToken, path: '/api/orders/1' }, { token: frontendToken, principal: workloads.frontend, path: '/api/orders' });
  if (sreToken) shapes.push({ token: sreToken, path: '/admin/x', service: 'payments.shop' });
  return shapes;
}

/** Requests that a permit matches and a forbid stops: mutations of these test that forbids hold. */
export function forbiddenShapes(tokens: ReadonlyMap<string, { kind: string; id?: string; subject?: string }>): Shape[] {
  const tokenOf = (id: string): string | undefined => [...tokens].find(([, expected]) => expected.id === id)?.[0];
  const shapes: Shape[] = [
    { principal: workloads.monitoringBuild, path: '/metrics' },
    { principal: workloads.reconciler, path: '/admin/flags', sourceAddress: '192.168.1.1' },
    { principal: workloads.checkout, method: 'POST', path: '/api/orders' },
    { method: 'POST', path: '/healthz' },
  ];
  const buildToken = tokenOf(workloads.monitoringBuild);
  const reconcilerToken = tokenOf(workloads.reconciler);
  if (buildToken) shapes.push({ token: buildToken, path: '/metrics' }, { token: buildToken, principal: workloads.monitoringBuild, path: '/metrics' });
  if (reconcilerToken) shapes.push({ token: reconcilerToken, method: 'PUT', path: '/admin/flags', sourceAddress: '10.1.1.1' });
  return shapes;
}

const principals = [
  'spiffe://cluster.local/ns/agents/sa/assistant',
  ...Object.values(workloads),
  'spiffe://evil.local/ns/shop/sa/frontend',
  'SPIFFE://cluster.local/ns/shop/sa/frontend',
  'spiffe://CLUSTER.local/ns/shop/sa/frontend',
  'spiffe://cluster.local/ns/shop/sa/frontend/',
  'spiffe://cluster.local/ns/shop/sa/frontend?x',
  'spiffe://cluster.local//ns/shop/sa/frontend',
  'spiffe://cluster.local/ns/shop/sa/../sa/frontend',
  'spiffe://cluster.local.evil.com/ns/shop/sa/frontend',
  'spiffe://cluster.local/ns/shop/sa/frontend\0',
  'spiffe://cluster.local',
  'https://cluster.local/ns/shop/sa/frontend',
  '',
];
const methods = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'TRACE', 'get', 'BREW', '', 'GET ', ' GET'];
const paths = [
  '/api/orders/1', '/api/orders', '/api/orders/../admin/x', '/api/orders/%2e%2e/%2e%2e/admin/x', '/api/orders%2F..%2Fadmin', '//api/orders/1',
  '/api/orders/./1', '/admin/flags', '/admin/', '/metrics', '/metrics?x=1', '/healthz', '/healthz/../admin/x', '/readyz#frag', '/v2/x', '/api/charges',
  '/api/payments/1', '/api/products/1', '/API/ORDERS/1', '/api/orders/%41', '/api/orders/%zz', '/api/orders/%00', '/api/orders\\..\\admin', '*', 'api/orders/1', '',
  '/api/orders/1?%00', '/%61dmin/x', '/a'.repeat(5000),
  // Path parameters and fragments (the `..;/` class): servlet containers serve another path.
  '/api/orders/..;/admin/x', '/api/orders;x=1/1', '/api/orders/1;jsessionid=A', '/admin;/flags', '/api/orders/%2e%2e;/%2e%2e;/admin/x', '/api/orders/..%3b/admin/x',
  '/api/orders/1#/../../admin/x', '/metrics;x',
];
const hosts = [
  'orders.shop.svc.cluster.local:8080', 'orders.shop', 'orders.shop.svc', 'ORDERS.SHOP.SVC.cluster.local', 'orders.shop.evil.com', 'catalog.shop.svc.cluster.local.',
  'payments.shop.svc.cluster.local:8080', 'artifacts.registry', '[::1]:80', 'orders.shop.svc.cluster.local:80:80', 'orders.shop.svc.cluster.local.:8080', '', 'orders..svc',
];
const services = ['tickets.support', 'orders.shop', 'payments.shop', 'catalog.shop', 'artifacts.registry', 'exporter.tools', '', 'shop', 'orders.shop.x', '.shop', 'orders.'];
const addresses = ['10.1.2.3', '10.0.0.1', '192.168.0.1', '::ffff:10.0.0.1', '10.0.0.01', '010.0.0.1', '10.0.0.256', '::1', 'fe80::1%eth0', '', 'not an ip'];
const headerNames = ['x-tenant', 'X-Tenant', 'x-request-id', 'x-forwarded-client-cert', 'x-gatehouse-principal', 'authorization', 'Authorization', 'cookie', ':path', ':authority', 'host', '__proto__', 'constructor', 'x-envoy-original-path'];
const xfccValues = [
  'By=spiffe://cluster.local/ns/gw/sa/gw;URI=spiffe://cluster.local/ns/shop/sa/frontend',
  'URI=spiffe://cluster.local/ns/ops/sa/reconciler',
  'URI=spiffe://cluster.local/ns/shop/sa/frontend,URI=spiffe://evil.local/ns/x/sa/y',
  'URI=spiffe://cluster.local/ns/shop/sa/frontend;URI=spiffe://cluster.local/ns/shop/sa/checkout',
  'URI="spiffe://cluster.local/ns/shop/sa/frontend"',
  'Hash=abc;Subject="CN=x,O=y";URI=spiffe://cluster.local/ns/monitoring/sa/prometheus',
];

/** A structured random CheckRequest: every field drawn from known-interesting values, mutated, or random. */
export function randomShape(random: Random, tokens: readonly string[]): Shape {
  const value = <T extends string>(known: readonly T[], max = 48): string =>
    random.chance(0.7) ? random.pick(known) : random.chance(0.5) ? mutateText(random, random.pick(known)) : randomText(random, max);
  const entries: [string, string][] = [];
  for (let i = random.int(5); i > 0; i--) {
    const name = random.chance(0.8) ? random.pick(headerNames) : randomText(random, 16);
    entries.push([name, name === 'x-forwarded-client-cert' && random.chance(0.7) ? value(xfccValues, 200) : randomText(random, 64)]);
  }
  // fromEntries defines own properties, so a `__proto__` header stays a header.
  const headers = Object.fromEntries(entries);
  const token = random.chance(0.4) ? (random.chance(0.7) ? random.pick(tokens) : mutateText(random, random.pick(tokens))) : undefined;
  return {
    principal: random.chance(0.85) ? value(principals, 80) : undefined,
    method: value(methods, 8),
    path: value(paths, 80),
    host: value(hosts, 40),
    service: random.chance(0.5) ? value(services, 24) : undefined,
    headers,
    token,
    sourceAddress: value(addresses, 24),
    headerMap: random.chance(0.2),
    rawHeader: random.chance(0.1) ? { key: random.pick(headerNames), value: random.bytes(random.int(12)) } : undefined,
  };
}
