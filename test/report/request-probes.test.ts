import { likeMatches, requestProbes } from '../../src/report/request-probes.js';
import { engineOf } from './fixtures.js';

/** The probes of one policy, from its Cedar text through the engine's JSON form. */
function probesOf(condition: string) {
  const engine = engineOf({ 'p.cedar': `@id("p")\npermit (principal, action, resource) ${condition};` });
  const json = engine.policyJson('p');
  if (json === undefined) throw new Error('no JSON');
  return requestProbes(json);
}

describe('requestProbes: path conditions become representative paths', () => {
  test.each([
    ['a prefix pattern', 'when { context.path like "/api/orders*" }', [{ path: '/api/orders', condition: 'like "/api/orders*"' }]],
    ['a segment wildcard', 'when { context.path like "/v2/*" }', [{ path: '/v2/x', condition: 'like "/v2/*"' }]],
    ['a wildcard inside', 'when { context.path like "/api/*/items" }', [{ path: '/api/x/items', condition: 'like "/api/*/items"' }]],
    ['a leading wildcard gets its slash', 'when { context.path like "*.json" }', [{ path: '/x.json', condition: 'like "*.json"' }]],
    ['an escaped star is literal', 'when { context.path like "/a\\*b*" }', [{ path: '/a*b', condition: 'like "/a\\\\*b*"' }]],
    ['equality, either side', 'when { context.path == "/healthz" || "/readyz" == context.path }', [{ path: '/healthz', condition: '== "/healthz"' }, { path: '/readyz', condition: '== "/readyz"' }]],
    ['inequality still names a path worth trying', 'unless { context.path != "/admin" }', [{ path: '/admin', condition: '== "/admin"' }]],
    ['a set of paths', 'when { ["/a", "/b"].contains(context.path) }', [{ path: '/a', condition: '== "/a"' }, { path: '/b', condition: '== "/b"' }]],
    ['a pattern no request path matches gives nothing', 'when { context.path like "api*" }', []],
    ['a relative literal gives nothing', 'when { context.path == "healthz" }', []],
    ['the same path twice is tried once', 'when { context.path == "/a" || context.path like "/a" }', [{ path: '/a', condition: '== "/a"' }]],
    ['tests on other attributes are left to Cedar', 'when { context.host like "*.internal" && context.authn.method == "mtls" }', []],
  ])('%s', (_name, condition, paths) => {
    expect(probesOf(condition).paths).toEqual(paths);
  });
});

describe('requestProbes: tags the policies test', () => {
  test.each([
    ['hasTag on headers', 'unless { context.headers.hasTag("x-tenant") }', [{ on: 'headers', name: 'x-tenant', value: 'x' }]],
    ['an equality gives the value', 'when { context.headers.hasTag("x-tenant") && context.headers.getTag("x-tenant") == "acme" }', [{ on: 'headers', name: 'x-tenant', value: 'acme' }]],
    ['an inequality does not', 'when { context.headers.hasTag("x-env") && context.headers.getTag("x-env") != "prod" }', [{ on: 'headers', name: 'x-env', value: 'x' }]],
    ['query parameters', 'when { context.query.hasTag("dryRun") && context.query.getTag("dryRun") == "true" }', [{ on: 'query', name: 'dryRun', value: 'true' }]],
  ])('%s', (_name, condition, tags) => {
    expect(probesOf(condition).tags).toEqual(tags);
  });
});

describe('likeMatches', () => {
  const pattern = (text: string) => [...text].map((char) => (char === '*' ? ('Wildcard' as const) : { Literal: char }));
  test.each([
    ['/api/orders*', '/api/orders', true],
    ['/api/orders*', '/api/orders/42', true],
    ['/api/orders*', '/api/order', false],
    ['/a.c', '/abc', false],
    ['*', '', true],
    ['/x*y', '/x\ny', true],
  ])('%j ~ %j', (text, path, expected) => {
    expect(likeMatches(pattern(text), path)).toBe(expected);
  });
});
