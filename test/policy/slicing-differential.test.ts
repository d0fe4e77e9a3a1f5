/**
 * Slicing must change no answer: the policies a slice leaves out are exactly those whose scope
 * cannot match, which Cedar evaluates to false without touching their conditions. Over generated
 * estates, a request evaluated against its slice gets the decision, the determining policies and
 * the errors of the whole set. Seeded, so a failure reproduces.
 */
import type { CedarRequest } from '../../src/core/cedar-request.js';
import type { AuthorizeResult } from '../../src/core/decide.js';
import { CedarAuthorizer } from '../../src/policy/authorizer.js';
import { PolicyEngine } from '../../src/policy/cedar/engine.js';
import { buildCedarRequest } from '../../src/policy/entities.js';
import { PolicySlicer } from '../../src/policy/slicing/slicer.js';
import { labels, policySet, randomRequest, rng } from './generated-estate.js';
import { exampleSchema } from './policy-fixtures.js';
import { parsedSubject } from '../support/subject.js';

const scopes = [1, 2, 6, 15, 16, 17, 18, 19, 20, 21, 22];

function prepare(texts: readonly string[]): PolicyEngine {
  const prepared = PolicyEngine.prepare({ files: [{ name: 'generated.cedar', text: texts.join('\n') }], schemaText: exampleSchema, schemaFile: 'schema.cedarschema' });
  if (!prepared.ok) throw new Error(prepared.problems.map((p) => p.message).join('\n'));
  return prepared.engine;
}

describe('a slice decides exactly as the whole set', () => {
  test.each([
    [21, 30, [], 'every template'],
    [22, 80, [], 'every template'],
    [23, 60, scopes, 'scoped templates, erroring conditions'],
    [24, 200, scopes, 'scoped templates, erroring conditions'],
    [25, 120, [0, 4, 15, 17, 18, 21], 'mostly principal-named'],
  ])('seed %i with %i policies (%j: %s)', (seed, count, only) => {
    const engine = prepare(policySet(seed, count, only));
    const slicer = new PolicySlicer(engine);
    const random = rng(seed * 104729);
    const seen = { narrower: 0, errors: 0, allows: 0 };
    for (let i = 0; i < 500; i++) {
      const { identity, facts, path } = randomRequest(random);
      const request = buildCedarRequest(identity, parsedSubject(facts, path), facts, { namespaceLabels: labels });
      const full = engine.authorize(request);
      const ids = slicer.select(request);
      expect({ i, ...engine.authorizeAmong(ids, request, 'serving') }).toEqual({ i, ...full });
      if (ids.length < engine.policies.length) seen.narrower += 1;
      if (full.errors.some((error) => error.policy !== '')) seen.errors += 1;
      if (full.decision === 'allow') seen.allows += 1;
    }
    // Only worth something if slices left policies out, policies erred, and both outcomes occurred.
    expect(seen.narrower).toBeGreaterThan(100);
    expect(seen.errors).toBeGreaterThan(0);
    expect(seen.allows).toBeGreaterThan(0);
    expect(seen.allows).toBeLessThan(500);
  });

  test.each([
    [31, 40, scopes],
    [32, 150, []],
  ])('the serving authorizer, sliced and not (seed %i, %i policies)', (seed, count, only) => {
    const engine = prepare(policySet(seed, count, only));
    const sliced = new CedarAuthorizer(engine, { cacheSize: 0, namespaceLabels: labels });
    const whole = new CedarAuthorizer(engine, { cacheSize: 0, slicing: false, namespaceLabels: labels });
    const random = rng(seed * 7);
    for (let i = 0; i < 300; i++) {
      const { identity, facts, path } = randomRequest(random);
      const subject = parsedSubject(facts, path);
      expect({ i, ...plain(sliced.authorize(identity, subject, facts)) }).toEqual({ i, ...plain(whole.authorize(identity, subject, facts)) });
    }
  });
});

/** A result with the request Cedar evaluated built, so that two results compare by value. */
function plain(result: AuthorizeResult): Omit<AuthorizeResult, 'evaluated'> & { evaluated: CedarRequest } {
  return { ...result, evaluated: result.evaluated() };
}
