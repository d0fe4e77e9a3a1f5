import { requestFacts } from '../../src/core/decode.js';
import { addressMatcher } from '../../src/net/cidr.js';
import { translateAuthzRequest, type AuthzHttpRequest } from '../../src/transport/http-authz-request.js';

const options = { envoyPathPrefix: '/envoy', forwardAuthPath: '/forward-auth', trustedProxy: addressMatcher(['10.0.0.0/8']) };
const limits = { maxHeaders: 200, maxHeaderBytes: 65536 };

function request(over: Partial<AuthzHttpRequest> & { headers?: [string, string][] }): AuthzHttpRequest {
  return {
    method: 'GET',
    target: '/forward-auth',
    authority: 'gatehouse.gatehouse:9193',
    rawHeaders: (over.headers ?? []).flat(),
    peer: { address: '192.0.2.1', port: 40000 },
    httpVersion: '1.1',
    ...over,
  };
}

/** What the pipeline would see: method, path, host, scheme, source, and the problems. */
function seen(req: AuthzHttpRequest) {
  const translated = translateAuthzRequest(req, options);
  if (translated.kind !== 'check') return translated.kind;
  const facts = requestFacts(translated.message, limits);
  return {
    wire: translated.wire,
    method: facts.method,
    path: facts.rawPath,
    host: facts.host,
    scheme: facts.scheme,
    source: facts.source.address,
    problems: translated.problems,
    headers: [...facts.headers.keys()],
  };
}

describe('forward auth: the original request', () => {
  test.each<[string, [string, string][], { method: string; path: string; host: string; scheme: string }]>([
    [
      'Traefik and Caddy: X-Forwarded-Method, -Proto, -Host, -Uri',
      [['X-Forwarded-Method', 'POST'], ['X-Forwarded-Proto', 'https'], ['X-Forwarded-Host', 'orders.shop'], ['X-Forwarded-Uri', '/api/orders?x=1']],
      { method: 'POST', path: '/api/orders?x=1', host: 'orders.shop', scheme: 'https' },
    ],
    [
      'lower-case names and a lower-case method',
      [['x-forwarded-method', 'get'], ['x-forwarded-host', 'orders.shop'], ['x-forwarded-uri', '/']],
      { method: 'GET', path: '/', host: 'orders.shop', scheme: '' },
    ],
    [
      'ingress-nginx auth-url: X-Original-Method and X-Original-URL',
      [['X-Original-Method', 'DELETE'], ['X-Original-URL', 'http://orders.shop:8080/api/orders/7?force=1']],
      { method: 'DELETE', path: '/api/orders/7?force=1', host: 'orders.shop:8080', scheme: 'http' },
    ],
    [
      'an X-Original-URL without a path is /',
      [['X-Original-Method', 'GET'], ['X-Original-URL', 'https://orders.shop']],
      { method: 'GET', path: '/', host: 'orders.shop', scheme: 'https' },
    ],
    [
      'the path exactly as sent: dot segments and encodings are the parse step\'s to judge',
      [['X-Original-Method', 'GET'], ['X-Original-URL', 'http://orders.shop/a/../admin/%2e%2e;x=1']],
      { method: 'GET', path: '/a/../admin/%2e%2e;x=1', host: 'orders.shop', scheme: 'http' },
    ],
    [
      'both spellings, agreeing',
      [['X-Original-Method', 'GET'], ['X-Original-URL', 'http://orders.shop/api'], ['X-Forwarded-Method', 'GET'], ['X-Forwarded-Host', 'orders.shop'], ['X-Forwarded-Proto', 'http'], ['X-Forwarded-Uri', '/api']],
      { method: 'GET', path: '/api', host: 'orders.shop', scheme: 'http' },
    ],
  ])('%s', (_name, headers, expected) => {
    expect(seen(request({ headers }))).toMatchObject({ wire: 'forward-auth', ...expected, problems: [] });
  });

  test.each<[string, [string, string][], string]>([
    ['nothing', [], 'no original request'],
    ['only X-Forwarded-Host', [['X-Forwarded-Host', 'orders.shop']], 'no original request'],
    ['no method', [['X-Forwarded-Host', 'orders.shop'], ['X-Forwarded-Uri', '/']], 'X-Forwarded-Method is missing'],
    ['no URI', [['X-Forwarded-Method', 'GET'], ['X-Forwarded-Host', 'orders.shop']], 'X-Forwarded-Uri is missing'],
    ['no host', [['X-Forwarded-Method', 'GET'], ['X-Forwarded-Uri', '/']], 'X-Forwarded-Host is missing'],
    ['a URI that is not a path', [['X-Forwarded-Method', 'GET'], ['X-Forwarded-Host', 'h'], ['X-Forwarded-Uri', 'http://h/']], 'X-Forwarded-Uri must be a path starting with /'],
    ['a method that is no token', [['X-Forwarded-Method', 'GE T'], ['X-Forwarded-Host', 'h'], ['X-Forwarded-Uri', '/']], 'X-Forwarded-Method is not an HTTP method'],
    ['an odd proto', [['X-Forwarded-Method', 'GET'], ['X-Forwarded-Host', 'h'], ['X-Forwarded-Uri', '/'], ['X-Forwarded-Proto', 'gopher']], 'X-Forwarded-Proto must be http or https'],
    ['X-Original-URL without a method', [['X-Original-URL', 'http://h/']], 'X-Original-Method is missing'],
    ['X-Original-Method without a URL', [['X-Original-Method', 'GET']], 'X-Original-URL is missing'],
    ['a relative X-Original-URL', [['X-Original-Method', 'GET'], ['X-Original-URL', '/api']], 'X-Original-URL must be an absolute URL'],
    ['an X-Original-URL with a fragment', [['X-Original-Method', 'GET'], ['X-Original-URL', 'http://h/a#b']], 'X-Original-URL must be an absolute URL'],
    ['an X-Original-URL with a user', [['X-Original-Method', 'GET'], ['X-Original-URL', 'http://evil@h/a']], 'X-Original-URL must name a host and no user'],
    ['an X-Original-URL of another scheme', [['X-Original-Method', 'GET'], ['X-Original-URL', 'ftp://h/a']], 'X-Original-URL must be an http or https URL'],
    ['a repeated header with different values', [['X-Forwarded-Method', 'GET'], ['X-Forwarded-Host', 'h'], ['X-Forwarded-Uri', '/public'], ['X-Forwarded-Uri', '/admin']], 'X-Forwarded-Uri was sent more than once'],
    // A proxy that sets X-Forwarded-* passes a client-sent X-Original-URL through; believing it would let the client choose the request judged.
    [
      'a client-sent X-Original-URL beside the proxy\'s X-Forwarded-*',
      [['X-Forwarded-Method', 'GET'], ['X-Forwarded-Host', 'orders.shop'], ['X-Forwarded-Uri', '/admin'], ['X-Original-Method', 'GET'], ['X-Original-URL', 'http://orders.shop/public']],
      'X-Forwarded-* and X-Original-* describe different requests (scheme, path)',
    ],
  ])('refused, never guessed: %s', (_name, headers, problem) => {
    const result = seen(request({ headers }));
    expect(result).toMatchObject({ wire: 'forward-auth' });
    expect((result as { problems: readonly string[] }).problems.join('; ')).toContain(problem);
  });

  test('the headers that described the request, and the hop\'s own, are not the original\'s headers', () => {
    const result = seen(
      request({
        headers: [['Host', 'gatehouse'], ['Connection', 'close'], ['Content-Length', '0'], ['X-Forwarded-Method', 'GET'], ['X-Forwarded-Host', 'h'], ['X-Forwarded-Uri', '/'], ['Authorization', 'Bearer t'], ['X-Request-Id', 'r1']],
      }),
    );
    expect(result).toMatchObject({ headers: ['authorization', 'x-request-id'] });
  });
});

describe('envoy http_service', () => {
  test.each([
    ['/envoy/api/orders?x=1', '/api/orders?x=1'],
    ['/envoy', '/'],
    ['/envoy?x=1', '/?x=1'],
    ['/envoy//double', '//double'],
  ])('%s is the original %s', (target, path) => {
    const result = seen(request({ target, method: 'PUT', authority: 'orders.shop', headers: [['Host', 'orders.shop'], ['X-B3-TraceId', 'abc']] }));
    expect(result).toMatchObject({ wire: 'envoy-http', method: 'PUT', path, host: 'orders.shop', scheme: 'http', problems: [], headers: ['x-b3-traceid'] });
  });

  test.each(['/envoyx/a', '/other', '/', '/forward-authx'])('%s is for neither endpoint', (target) => {
    expect(seen(request({ target }))).toBe('not-found');
  });
});

describe('the source address', () => {
  const envoy = (peer: string, headers: [string, string][]) => seen(request({ target: '/envoy/', peer: { address: peer, port: 1 }, headers }));

  test.each<[string, string, [string, string][], string]>([
    ['an untrusted peer\'s X-Forwarded-For is ignored', '192.0.2.1', [['X-Forwarded-For', '203.0.113.9']], '192.0.2.1'],
    ['an untrusted peer\'s X-Real-IP is ignored', '192.0.2.1', [['X-Real-IP', '203.0.113.9']], '192.0.2.1'],
    ['a trusted proxy names the client', '10.1.1.1', [['X-Forwarded-For', '203.0.113.9']], '203.0.113.9'],
    ['the nearest untrusted hop, not what the client wrote first', '10.1.1.1', [['X-Forwarded-For', '1.1.1.1, 203.0.113.9, 10.2.2.2']], '203.0.113.9'],
    ['X-Real-IP from a trusted proxy', '10.1.1.1', [['X-Real-IP', '203.0.113.9']], '203.0.113.9'],
    ['an IPv4-mapped peer counts as its IPv4 address', '::ffff:10.1.1.1', [['X-Forwarded-For', '203.0.113.9']], '203.0.113.9'],
    ['a trusted proxy without either header is the source', '10.1.1.1', [], '10.1.1.1'],
  ])('%s', (_name, peer, headers, source) => {
    expect(envoy(peer, headers)).toMatchObject({ source, problems: [] });
  });

  test('a trusted proxy\'s X-Forwarded-For that does not parse refuses the request', () => {
    expect(envoy('10.1.1.1', [['X-Forwarded-For', 'unknown']])).toMatchObject({ problems: ['X-Forwarded-For from a trusted proxy holds "unknown", not an IP address'] });
  });
});
