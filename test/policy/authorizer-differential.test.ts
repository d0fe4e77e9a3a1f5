/**
 * The fast path (requests cut to what policies read, decisions cached) must decide exactly as a
 * plain full-request evaluation of the whole set, for every policy set and request. Seeded, so a
 * failure reproduces.
 */
import { jest } from '@jest/globals';
import { CedarAuthorizer } from '../../src/policy/authorizer.js';
import { PolicyEngine } from '../../src/policy/cedar/engine.js';
import { buildCedarRequest } from '../../src/policy/entities.js';
import { labels, policySet, randomRequest, rng } from './generated-estate.js';
import { exampleSchema, workload } from './policy-fixtures.js';
import { parsedSubject } from '../support/subject.js';

describe('CedarAuthorizer decides exactly as a full evaluation', () => {
  const all: number[] = [];
  test.each([
    [1, 8, all, 'everything'],
    [2, 20, all, 'everything'],
    [3, 40, all, 'everything'],
    // Sets that read less, so that the cut-down requests are what is compared.
    [4, 12, [0, 1, 2, 6], 'path only'],
    [5, 12, [0, 3, 6], 'one header'],
    [6, 12, [1, 4, 5], 'query and source ip'],
    [7, 12, [2, 7, 9], 'namespace tags and port'],
    [8, 16, [0, 6, 11], 'the path only through tests'],
    [9, 16, [0, 10, 11], 'the path opaquely'],
    [10, 16, [3, 6, 12], 'headers through an entity literal'],
    [11, 16, [0, 1, 13], 'a condition after a CR-ended comment'],
    [12, 16, [3, 6, 14], 'escaped and indexed spellings'],
  ])('policy set seed %i with %i policies (%j, reads %s)', (seed, count, only) => {
    const texts = policySet(seed, count, only);
    const prepared = PolicyEngine.prepare({ files: [{ name: 'generated.cedar', text: texts.join('\n') }], schemaText: exampleSchema, schemaFile: 'schema.cedarschema' });
    if (!prepared.ok) throw new Error(prepared.problems.map((p) => p.message).join('\n'));
    const fast = new CedarAuthorizer(prepared.engine, { namespaceLabels: labels });
    const random = rng(seed * 7919);
    let allows = 0;
    for (let i = 0; i < 600; i++) {
      const { identity, facts, path } = randomRequest(random);
      const subject = parsedSubject(facts, path);
      const full = prepared.engine.authorize(buildCedarRequest(identity, subject, facts, { namespaceLabels: labels }));
      const got = fast.authorize(identity, subject, facts);
      expect({ i, decision: got.decision, determining: got.determining }).toEqual({ i, decision: full.decision, determining: full.determining });
      if (full.decision === 'allow') allows += 1;
    }
    // The table is only worth something if both outcomes occur.
    expect(allows).toBeGreaterThan(0);
    expect(allows).toBeLessThan(600);
  });
});

test('paths that pass the same path tests share one cache entry', async () => {
  const { loadPolicies } = await import('../../src/policy/loader.js');
  const { requestFacts } = await import('../../src/core/decode.js');
  const loaded = await loadPolicies(new URL('../../policies/', import.meta.url).pathname);
  if (!loaded.ok) throw new Error('example policies do not load');
  const authorizer = new CedarAuthorizer(loaded.engine);
  expect(authorizer.reads.pathTests).not.toBe('opaque');
  const calls = jest.spyOn(loaded.engine, 'authorize');
  const sliced = jest.spyOn(loaded.engine, 'authorizeAmong');
  const identity = workload('spiffe://cluster.local/ns/shop/sa/frontend');
  for (let i = 0; i < 200; i++) {
    const facts = requestFacts(
      { attributes: { request: { http: { method: 'GET', path: `/api/orders/${i}`, host: 'orders.shop', headers: { 'x-request-id': `r${i}` } } } } },
      { maxHeaders: 100, maxHeaderBytes: 65536 },
    );
    expect(authorizer.authorize(identity, parsedSubject(facts), facts).decision).toBe('allow');
  }
  expect(calls.mock.calls.length + sliced.mock.calls.length).toBe(1);
});
