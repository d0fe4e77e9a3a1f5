import { policyToJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { PolicyJson } from '../../src/policy/cedar/engine.js';
import { likeMatcher, policyReads, readsEverything } from '../../src/policy/reads.js';

/** Cedar's parse of each policy text, as the engine keeps it. */
const parsed = (texts: string[]): PolicyJson[] =>
  texts.map((text) => {
    const answer = policyToJson(text);
    if (answer.type === 'failure') throw new Error(answer.errors.map((error) => error.message).join('; '));
    return answer.json;
  });

const summary = (texts: string[]) => {
  const r = policyReads(parsed(texts));
  if (r === readsEverything) return 'everything';
  const set = (v: 'all' | ReadonlySet<string>) => (v === 'all' ? 'all' : [...v].sort().join(','));
  return `context=${[...r.context].sort().join(',')} headers=${set(r.headers)} query=${set(r.query)} ip=${r.sourceIp} port=${r.sourcePort} nsTags=${r.namespaceTags}`;
};

describe('path tests', () => {
  const tests = (texts: string[]) => JSON.stringify(policyReads(parsed(texts)).pathTests);
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
    // Cedar's parse holds the name unescaped; the token scanner could only give up on it (headers=all).
    ['an escaped header name', ['permit (principal, action, resource) when { context.headers.hasTag("x\\u{2d}a") };'], 'context= headers=x-a query= ip=false port=false nsTags=false'],
    ['headers compared whole', ['permit (principal, action, resource) when { context.headers == context.headers };'], 'context= headers=all query= ip=false port=false nsTags=false'],
    ['query names', ['permit (principal, action, resource) when { context.query.hasTag("debug") };'], 'context= headers= query=debug ip=false port=false nsTags=false'],
    ['the source ip', ['permit (principal, action, resource) when { context.source has ip && context.source.ip.isLoopback() };'], 'context= headers= query= ip=true port=false nsTags=false'],
    ['the whole source', ['permit (principal, action, resource) when { context.source == {} };'], 'context= headers= query= ip=true port=true nsTags=false'],
    // Issue #14: reading a namespace's labels pulled every header and query parameter into Cedar.
    ['namespace labels', ['permit (principal, action, resource) when { Namespace::"shop".hasTag("tier") };'], 'context= headers= query= ip=false port=false nsTags=true'],
    ['namespace labels by a computed name', ['permit (principal, action, resource) when { Namespace::"shop".hasTag(context.method) };'], 'context=method headers= query= ip=false port=false nsTags=true'],
    ['tags on an entity the walk cannot tell', ['permit (principal, action, resource) when { (if context.path == "/" then Namespace::"shop" else Headers::"request").hasTag("x") };'], 'context=path headers=all query=all ip=false port=false nsTags=true'],
    ['a bare context', ['permit (principal, action, resource) when { context == {} };'], 'everything'],
    // `context["path"]` is `context.path` to Cedar; the token scanner could only give up on it (everything).
    ['context indexed', ['permit (principal, action, resource) when { context["path"] == "/" };'], 'context=path headers= query= ip=false port=false nsTags=false'],
    ['an unknown attribute', ['permit (principal, action, resource) when { context.other == 1 };'], 'everything'],
    ['a mention in a comment reads nothing', ['// context.headers.getTag(x)\npermit (principal, action, resource);'], 'context= headers= query= ip=false port=false nsTags=false'],
    // Regression: Cedar ends a comment at a lone CR; code after it was taken for comment.
    ['a condition after a comment ended by CR', ['forbid (principal, action, resource) when { // note\r context.path like "/admin*" };'], 'context=path headers= query= ip=false port=false nsTags=false'],
    // Regression: a tag read through an entity literal of the request's Headers was not seen.
    ['tags read through Headers::"request"', ['forbid (principal, action, resource) when { Headers::"request".hasTag("x-debug") };'], 'context= headers=x-debug query= ip=false port=false nsTags=false'],
    ['tags read through Query::"request" by a computed name', ['forbid (principal, action, resource) when { Query::"request".hasTag(context.host) };'], 'context=host headers= query=all ip=false port=false nsTags=false'],
    ['`context` inside a string does not', ['permit (principal, action, resource) when { principal.class == "context" };'], 'context= headers= query= ip=false port=false nsTags=false'],
  ])('%s', (_name, texts, expected) => {
    expect(summary(texts)).toBe(expected);
  });
});

/**
 * Spellings the token scanner had to special-case, read through Cedar's parse. Each expects the
 * whole PolicyReads; `none` is a set that reads nothing.
 */
describe('policyReads from Cedar’s parse, whatever the spelling', () => {
  type Plain = { context: string[]; headers: 'all' | string[]; query: 'all' | string[]; sourceIp: boolean; sourcePort: boolean; namespaceTags: boolean; pathTests: unknown };
  const none: Plain = { context: [], headers: [], query: [], sourceIp: false, sourcePort: false, namespaceTags: false, pathTests: [] };
  const everything: Plain = { context: ['actor', 'authn', 'delegation', 'host', 'method', 'path', 'scheme'], headers: 'all', query: 'all', sourceIp: true, sourcePort: true, namespaceTags: true, pathTests: 'opaque' };
  const eq = (value: string) => ({ kind: 'eq', value });
  const like = (pattern: string) => ({ kind: 'like', pattern });
  const plain = (r: ReturnType<typeof policyReads>): Plain => {
    const names = (v: 'all' | ReadonlySet<string>) => (v === 'all' ? 'all' : [...v].sort());
    return { ...r, context: [...r.context].sort(), headers: names(r.headers), query: names(r.query) };
  };
  const when = (condition: string) => `permit (principal, action, resource) when { ${condition} };`;

  test.each<[string, string, Plain]>([
    // Comments
    ['a comment between `context` and `.path`', when('context // c\n .path == "/a"'), { ...none, context: ['path'], pathTests: [eq('/a')] }],
    ['a comment holding a quote', when('// say "\n context.path == "/a"'), { ...none, context: ['path'], pathTests: [eq('/a')] }],
    ['a comment holding a tag read', when('// context.headers.getTag(x)\n context.query.hasTag("q")'), { ...none, query: ['q'] }],
    ['a comment ended by CR', when('// c\r context.path like "/admin*"'), { ...none, context: ['path'], pathTests: [like('/admin*')] }],
    // Indexing
    ['context.path', when('context.path == "/a"'), { ...none, context: ['path'], pathTests: [eq('/a')] }],
    ['context["path"]', when('context["path"] == "/a"'), { ...none, context: ['path'], pathTests: [eq('/a')] }],
    ['context["headers"] with a tag read', when('context["headers"].getTag("x") == "1"'), { ...none, headers: ['x'] }],
    ['context["source"]["ip"]', when('context["source"]["ip"].isLoopback()'), { ...none, sourceIp: true }],
    ['context["other"]', when('context["other"] == 1'), everything],
    // Whitespace and line breaks
    ['a path test over lines', when('context\n  .\n\tpath\n like\n "/a*"'), { ...none, context: ['path'], pathTests: [like('/a*')] }],
    ['a tag read with spaces', when('context . headers . hasTag ( "x" )'), { ...none, headers: ['x'] }],
    ['== written as `"v"==context.path`', when('"/b"==context.path'), { ...none, context: ['path'], pathTests: [eq('/b')] }],
    // String escapes
    ['an escaped path literal', when('context.path == "/a\\u{2d}b"'), { ...none, context: ['path'], pathTests: [eq('/a-b')] }],
    ['escaped quotes in a path literal', when('context.path != "/\\"q\\""'), { ...none, context: ['path'], pathTests: [eq('/"q"')] }],
    ['an escaped query name', when('context.query.hasTag("d\\u{65}bug")'), { ...none, query: ['debug'] }],
    // `like` and its stars
    ['`\\*` is a literal star', when('context.path like "/a\\*"'), { ...none, context: ['path'], pathTests: 'opaque' }],
    ['`\\u{2a}` is a wildcard to Cedar', when('context.path like "/a\\u{2a}"'), { ...none, context: ['path'], pathTests: [like('/a*')] }],
    ['`\\\\*` is a backslash, then a wildcard', when('context.path like "/a\\\\*"'), { ...none, context: ['path'], pathTests: [like('/a\\*')] }],
    ['a like test on something else', when('context.host like "*.shop"'), { ...none, context: ['host'] }],
    // if … then … else
    [
      'tests inside a ternary',
      when('if context.path == "/a" then context.headers.hasTag("x") else context.query.hasTag("q")'),
      { ...none, context: ['path'], headers: ['x'], query: ['q'], pathTests: [eq('/a')] },
    ],
    ['the path chosen by a ternary', when('(if principal is User then context.path else "/x") == "/a"'), { ...none, context: ['path'], pathTests: 'opaque' }],
    [
      'a tag read on a ternary',
      when('(if principal is User then context.headers else context.query).hasTag("x")'),
      { ...none, headers: 'all', query: 'all', namespaceTags: true },
    ],
    // `has`
    ['`has` on context.source', when('context.source has port'), { ...none, sourcePort: true }],
    ['`has` through two records at once', when('context has source.ip'), { ...none, sourceIp: true }],
    ['`has` on context.authn', when('context.authn has issuer'), { ...none, context: ['authn'] }],
    ['`has` on context for authn.issuer', when('context has authn.issuer'), { ...none, context: ['authn'] }],
    ['`has` on the whole source', when('context has source'), { ...none, sourceIp: true, sourcePort: true }],
    ['`has` on headers', when('context has headers'), { ...none, headers: 'all' }],
    ['`has` on an unknown attribute', when('context has other'), everything],
    // getTag / hasTag
    ['getTag with a literal key', when('context.headers.getTag("x-a") == "1"'), { ...none, headers: ['x-a'] }],
    ['getTag with a computed key', when('context.headers.getTag(context.method) == "1"'), { ...none, context: ['method'], headers: 'all' }],
    ['hasTag on query with a key from the principal', when('context.query.hasTag(principal.class)'), { ...none, query: 'all' }],
    ['getTag on a namespace', when('Namespace::"shop".hasTag("team") && Namespace::"shop".getTag("team") == "a"'), { ...none, namespaceTags: true }],
    // Wholes passed on
    ['headers passed whole', when('[context.headers].contains(context.headers)'), { ...none, headers: 'all' }],
    ['the path inside a record', when('{ p: context.path } == { p: "/a" }'), { ...none, context: ['path'], pathTests: 'opaque' }],
    ['the path against another attribute', when('context.path == context.host'), { ...none, context: ['host', 'path'], pathTests: 'opaque' }],
    ['context inside a set', when('[context].isEmpty()'), everything],
  ])('%s', (_name, text, expected) => {
    expect(plain(policyReads(parsed([text])))).toEqual(expected);
  });

  test('an expression form the walker does not know reads everything', () => {
    const [policy] = parsed([when('true')]);
    const unknown = { ...policy!, conditions: [{ kind: 'when', body: { future: { arg: { Var: 'principal' } } } }] } as unknown as PolicyJson;
    expect(policyReads([unknown])).toBe(readsEverything);
  });

  test('tests from several policies are kept once each, in order', () => {
    const texts = [when('context.path like "/a*"'), when('context.path == "/b" || context.path like "/a*"'), 'forbid (principal, action, resource) unless { context.path == "/b" };'];
    expect(policyReads(parsed(texts)).pathTests).toEqual([like('/a*'), eq('/b')]);
  });
});
