import { collapsePaths, patternCondition, patternCovers, type ObservedPath } from '../../src/report/path-patterns.js';

const seen = (...paths: string[]): ObservedPath[] => paths.map((path) => ({ path, below: false }));

describe('collapsePaths', () => {
  test.each([
    ['one path stays exact', seen('/healthz'), ['context.path == "/healthz"']],
    ['a few named routes stay exact', seen('/api/a', '/api/b'), ['context.path == "/api/a"', 'context.path == "/api/b"']],
    ['identifiers under a route collapse to the route and below', seen('/api/orders/1', '/api/orders/2'), ['context.path like "/api/orders/*"']],
    ['the route itself seen too adds its ==', seen('/api/orders', '/api/orders/7'), ['context.path == "/api/orders" || context.path like "/api/orders/*"']],
    ['more than four names collapse', seen('/a/b1', '/a/b2', '/a/b3', '/a/b4', '/a/b5'), ['context.path like "/a/*"']],
    ['a route the bound coarsened stands for itself and below', [{ path: '/v2', below: true }], ['context.path == "/v2" || context.path like "/v2/*"']],
    ['a star in a path is escaped in like', seen('/a*/1'), ['context.path like "/a\\*/*"']],
    ['a trailing slash is its own path', seen('/a/'), ['context.path == "/a/"']],
  ])('%s', (_, paths, conditions) => {
    const patterns = collapsePaths(paths);
    expect(patterns.map(patternCondition)).toEqual(conditions);
    for (const { path } of paths) expect({ path, covered: patterns.some((pattern) => patternCovers(pattern, path)) }).toEqual({ path, covered: true });
  });

  test('a pattern covers nothing beside its route', () => {
    const [pattern] = collapsePaths(seen('/api/orders/1', '/api/orders/2'));
    expect(['/api/orders/9', '/api/orders/9/x'].every((path) => patternCovers(pattern!, path))).toBe(true);
    expect(['/api/orders', '/api/ordersx', '/api'].some((path) => patternCovers(pattern!, path))).toBe(false);
  });
});
