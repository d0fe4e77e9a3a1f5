/**
 * Keys the authorizer builds for itself must neither grow with what a caller sends nor confuse
 * two different things. Two classes, each found once and tested here as a class:
 * - every decision-cache entry, exact or shared between principals, has a bounded key, whatever
 *   size of header value a policy reads;
 * - every key made of policy ids (a slice's preparsed set, a slice's principal view) tells apart
 *   lists whose ids joined with any separator would be equal: an id may hold any character.
 */
import type { RequestFacts } from '../../src/core/request-facts.js';
import { CedarAuthorizer } from '../../src/policy/authorizer.js';
import { PolicyEngine } from '../../src/policy/cedar/engine.js';
import { exampleSchema, workload } from './policy-fixtures.js';
import { parsedSubject } from '../support/subject.js';

function prepare(text: string): PolicyEngine {
  const prepared = PolicyEngine.prepare({ files: [{ name: 'p.cedar', text }], schemaText: exampleSchema, schemaFile: 'schema.cedarschema' });
  if (!prepared.ok) throw new Error(prepared.problems.map((problem) => problem.message).join('\n'));
  return prepared.engine;
}

function facts(service: string, headers: [string, string][] = []): RequestFacts {
  return {
    requestId: '',
    streamId: '',
    method: 'GET',
    rawPath: '/',
    host: service,
    scheme: 'http',
    protocol: 'HTTP/1.1',
    headers: new Map(headers),
    repeatedHeaders: new Set(),
    source: { address: '10.1.2.3', port: 40000, principal: '', certificate: '' },
    destination: { address: '', port: 0, principal: '', certificate: '' },
    contextExtensions: new Map([['service', service]]),
    sni: '',
    problems: [],
  };
}

function decide(authorizer: CedarAuthorizer, account: string, request: RequestFacts): string {
  return authorizer.authorize(workload(`spiffe://cluster.local/ns/shop/sa/${account}`), parsedSubject(request, { path: '/', query: '' }), request).decision;
}

test('every cache key stays short, exact or shared, however long a header value policies read', () => {
  const authorizer = new CedarAuthorizer(
    prepare('permit (principal is Workload in Namespace::"shop", action, resource) when { context.headers.hasTag("x-tenant") && context.headers.getTag("x-tenant") != "blocked" };'),
  );
  for (let i = 0; i < 50; i++) expect(decide(authorizer, `caller-${i}`, facts('orders.shop', [['x-tenant', `${i}-`.padEnd(60_000, 'x')]]))).toBe('allow');
  const keys = [...(authorizer as unknown as { cache: { keys(): Iterable<string> } }).cache.keys()];
  // An exact and a shared entry for each distinct value.
  expect(keys.length).toBe(100);
  expect(Math.max(...keys.map((key) => key.length))).toBeLessThanOrEqual(1024);
});

// Fillers keep each slice under half the set, so it is evaluated as a slice.
const fillers = [1, 2, 3, 4].map((i) => `@id("f${i}") permit (principal, action, resource in Namespace::"z${i}");`).join('\n');

test.each(['\n', ',', '","', '\t'])('a slice is never evaluated as another whose ids join alike (separator %j)', (separator) => {
  const engine = prepare(`
@id("P") permit (principal is Workload in Namespace::"shop", action, resource);
@id(${JSON.stringify(`a${separator}b`)}) forbid (principal, action, resource in Namespace::"x") when { context.path == "/never" };
@id("a") forbid (principal, action, resource in Namespace::"y") when { principal has serviceAccount && principal.serviceAccount == "bad" };
@id("b") forbid (principal, action, resource in Namespace::"y") when { context.path == "/never" };
${fillers}`);
  const reference = new CedarAuthorizer(engine, { cacheSize: 0, slicing: false });
  const sliced = new CedarAuthorizer(engine, { cacheSize: 0 });
  expect(decide(reference, 'bad', facts('orders.y'))).toBe('deny');
  expect(decide(sliced, 'anyone', facts('orders.x'))).toBe('allow');
  expect(decide(sliced, 'bad', facts('orders.y'))).toBe('deny');
});

test.each(['\n', ',', '","'])('a slice never takes the principal view of another whose ids join alike (separator %j)', (separator) => {
  const engine = prepare(`
@id(${JSON.stringify(`a${separator}b`)}) permit (principal is Workload in Namespace::"shop", action, resource in Namespace::"x");
@id("a") permit (principal is Workload in Namespace::"shop", action, resource in Namespace::"y") when { principal has serviceAccount && principal.serviceAccount == "good" };
@id("b") forbid (principal, action, resource in Namespace::"y") when { context.path == "/never" };
${fillers}`);
  const sharing = new CedarAuthorizer(engine);
  expect(decide(sharing, 'anyone', facts('orders.x'))).toBe('allow');
  expect(decide(sharing, 'good', facts('orders.y'))).toBe('allow');
  expect(decide(sharing, 'bad', facts('orders.y'))).toBe('deny');
});
