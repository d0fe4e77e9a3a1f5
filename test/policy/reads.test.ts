import { likeMatcher, policyReads, readsEverything } from '../../src/policy/reads.js';

const summary = (texts: string[]) => {
  const r = policyReads(texts);
  if (r === readsEverything) return 'everything';
  const set = (v: 'all' | ReadonlySet<string>) => (v === 'all' ? 'all' : [...v].sort().join(','));
  return `context=${[...r.context].sort().join(',')} headers=${set(r.headers)} query=${set(r.query)} ip=${r.sourceIp} port=${r.sourcePort} nsTags=${r.namespaceTags}`;
};

describe('path tests', () => {
  const tests = (texts: string[]) => JSON.stringify(policyReads(texts).pathTests);
  test.each([
    ['like and ==', ['permit (principal, action, resource) when { context.path like "/api/*" || context.path == "/healthz" };'], '[{"kind":"like","pattern":"/api/*"},{"kind":"eq","value":"/healthz"}]'],
    ['!= and a literal on the left', ['permit (principal, action, resource) when { context.path != "/a" && "/b" == context.path };'], '[{"kind":"eq","value":"/a"},{"kind":"eq","value":"/b"}]'],
    ['an escaped like pattern', ['permit (principal, action, resource) when { context.path like "/a\\*" };'], '"opaque"'],
    ['the path inside a set', ['permit (principal, action, resource) when { ["/a"].contains(context.path) };'], '"opaque"'],
    ['`has` alone', ['permit (principal, action, resource) when { context has path };'], '[]'],
  ])('%s', (_name, texts, expected) => {
    expect(tests(texts)).toBe(expected);
  });

  test.each([
    ['/api/*', '/api/x', true],
    ['/api/*', '/api', false],
    ['*', '', true],
    ['/a.b', '/aXb', false],
    ['/a*b*c', '/a--b--c', true],
    ['/(x)', '/(x)', true],
    ['/a*a', '/a', false],
    ['/a*a', '/aa', true],
    ['*ab*ab*', 'xabyab', true],
    ['*ab*ab*', 'xaby', false],
    ['/*/*/admin', '/x/y/admin', true],
    ['/*/*/admin', '/x/admin', false],
    ['no-star', 'no-star', true],
    ['no-star', 'no-star!', false],
  ])('like %j on %j is %j', (pattern, path, expected) => {
    expect(likeMatcher(pattern)(path)).toBe(expected);
  });

  // Regression: a regular expression with several wildcards backtracked for seconds on a long path.
  test('a long hostile path is matched in linear time', () => {
    const match = likeMatcher('/*/*/*/*/admin');
    const path = `/${'a/'.repeat(4000)}`;
    const started = performance.now();
    expect(match(path)).toBe(false);
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe('policyReads', () => {
  test.each([
    ['nothing', ['permit (principal, action, resource);'], 'context= headers= query= ip=false port=false nsTags=false'],
    ['the path', ['permit (principal, action, resource) when { context.path like "/a*" };'], 'context=path headers= query= ip=false port=false nsTags=false'],
    ['`has` on an attribute', ['permit (principal, action, resource) when { context has path };'], 'context=path headers= query= ip=false port=false nsTags=false'],
    ['literal header names', ['permit (principal, action, resource) when { context.headers.hasTag("x-a") && context.headers.getTag("x-b") == "1" };'], 'context= headers=x-a,x-b query= ip=false port=false nsTags=false'],
    ['a computed header name', ['permit (principal, action, resource) when { context.headers.hasTag(context.path) };'], 'context=path headers=all query= ip=false port=false nsTags=false'],
    ['an escaped header name', ['permit (principal, action, resource) when { context.headers.hasTag("x\\u{2d}a") };'], 'context= headers=all query= ip=false port=false nsTags=false'],
    ['headers compared whole', ['permit (principal, action, resource) when { context.headers == context.headers };'], 'context= headers=all query= ip=false port=false nsTags=false'],
    ['query names', ['permit (principal, action, resource) when { context.query.hasTag("debug") };'], 'context= headers= query=debug ip=false port=false nsTags=false'],
    ['the source ip', ['permit (principal, action, resource) when { context.source has ip && context.source.ip.isLoopback() };'], 'context= headers= query= ip=true port=false nsTags=false'],
    ['the whole source', ['permit (principal, action, resource) when { context.source == {} };'], 'context= headers= query= ip=true port=true nsTags=false'],
    ['namespace labels', ['permit (principal, action, resource) when { Namespace::"shop".hasTag("tier") };'], 'context= headers=all query=all ip=false port=false nsTags=true'],
    ['a bare context', ['permit (principal, action, resource) when { context == {} };'], 'everything'],
    ['context indexed', ['permit (principal, action, resource) when { context["path"] == "/" };'], 'everything'],
    ['an unknown attribute', ['permit (principal, action, resource) when { context.other == 1 };'], 'everything'],
    ['a mention in a comment reads nothing', ['// context.headers.getTag(x)\npermit (principal, action, resource);'], 'context= headers= query= ip=false port=false nsTags=false'],
    // Regression: Cedar ends a comment at a lone CR; code after it was taken for comment.
    ['a condition after a comment ended by CR', ['forbid (principal, action, resource) when { // note\r context.path like "/admin*" };'], 'context=path headers= query= ip=false port=false nsTags=false'],
    // Regression: a tag read through an entity literal of the request's Headers was not seen.
    ['tags read through Headers::"request"', ['forbid (principal, action, resource) when { Headers::"request".hasTag("x-debug") };'], 'context= headers=all query=all ip=false port=false nsTags=true'],
    ['`context` inside a string does not', ['permit (principal, action, resource) when { principal.class == "context" };'], 'context= headers= query= ip=false port=false nsTags=false'],
  ])('%s', (_name, texts, expected) => {
    expect(summary(texts)).toBe(expected);
  });
});
