/**
 * Validation and preparsing give Cedar a set's policies as one text (joined-text.ts), for which
 * Cedar names them `policy0`, `policy1`, … by place. What a load finds must be exactly what
 * Cedar's validation of the policies by their own ids finds, and every answer about a request
 * must name the policies by their own ids: a forbid misnamed as a permit would let an error allow.
 */
import { isAuthorized, policyToJson, validate, type ValidationAnswer } from '@cedar-policy/cedar-wasm/nodejs';
import { PolicyEngine, type EngineDecision } from '../../src/policy/cedar/engine.js';
import type { CedarRequest } from '../../src/core/cedar-request.js';
import { buildCedarRequest } from '../../src/policy/entities.js';
import { positionOf } from '../../src/policy/cedar/joined-text.js';
import { settle } from '../../src/policy/cedar/joined-validation.js';
import { namePolicies, splitFiles, validationCall, withVerdict, type ParsedPolicy } from '../../src/policy/cedar/validate.js';
import { untimed } from '../../src/policy/load-phases.js';
import { formatProblem } from '../../src/policy/problem.js';
import type { PolicySetInput } from '../../src/policy/version.js';
import { labels, policySet, randomRequest, rng } from './generated-estate.js';
import { parsedSubject } from '../support/subject.js';
import { cedarRequest, exampleSchema, workload } from './policy-fixtures.js';

function input(files: Record<string, string>, schemaText = exampleSchema): PolicySetInput {
  return { files: Object.entries(files).map(([name, text]) => ({ name, text })), schemaText, schemaFile: 'schema.cedarschema' };
}

/** Every problem Cedar's validation by id finds, read as a load reads it: the reference. */
function foundById(files: PolicySetInput): string[] {
  const split = splitFiles(files, untimed);
  const named = namePolicies(split, split.map((file) => file.sources.map((source) => policyToJson(source.text))));
  return withVerdict(files, named, validate(validationCall(files, named.policies))).problems.map(formatProblem).sort();
}

function foundBy(result: ReturnType<typeof PolicyEngine.prepare>): string[] {
  return (result.ok ? result.engine.warnings : result.problems).map(formatProblem).sort();
}

const unsafe = 'permit (principal, action, resource) when { context.nosuch == 1 };';
const neverApplies = 'permit (principal is Anonymous, action, resource) when { principal is Workload };';

describe('a load finds exactly what validation by id finds', () => {
  const estate = policySet(51, 300, []);
  const withProblems = (at: readonly number[], problem: string): string[] => estate.map((text, i) => (at.includes(i) ? problem : text));
  test.each([
    ['a generated estate', { 'a.cedar': estate.join('\n') }, exampleSchema],
    ['errors at the start, middle and end', { 'a.cedar': withProblems([0, 150, 299], unsafe).join('\n') }, exampleSchema],
    ['warnings only', { 'a.cedar': withProblems([7, 8], neverApplies).join('\n') }, exampleSchema],
    ['errors and warnings in several files', { 'a.cedar': withProblems([3], unsafe).join('\n'), 'b.cedar': [neverApplies, ...estate.slice(0, 20), unsafe].join('\n') }, exampleSchema],
    [
      'ids that are Cedar\'s own names for other places',
      { 'a.cedar': [`@id("policy2")\n${unsafe}`, '@id("policy0")\npermit (principal, action, resource);', `@id("policy1")\n${neverApplies}`].join('\n') },
      exampleSchema,
    ],
    ['a trailing comment on every line, none ended by the join', { 'a.cedar': estate.slice(0, 30).map((text) => `${text} // ends here`).join('\n') }, exampleSchema],
    ['a schema that does not parse', { 'a.cedar': estate.slice(0, 10).join('\n') }, `${exampleSchema}\nentity Broken {`],
    ['a schema naming a type it does not declare', { 'a.cedar': estate.slice(0, 40).join('\n') }, exampleSchema.replace('entity Group;', 'entity Team;')],
  ])('%s', async (_name, files, schemaText) => {
    const set = input(files, schemaText);
    const expected = foundById(set);
    expect(foundBy(PolicyEngine.prepare(set))).toEqual(expected);
    expect(foundBy(await PolicyEngine.load(set, { threads: 2, minPoliciesForThreads: 0 }))).toEqual(expected);
  });

  test('the cases above are worth something: by id, they find errors, warnings and schema problems', () => {
    expect(foundById(input({ 'a.cedar': withProblems([0], unsafe).join('\n') })).join('\n')).toMatch(/a\.cedar:1:45: for policy `a\.cedar#0`, attribute `nosuch`/);
    expect(foundById(input({ 'a.cedar': neverApplies })).join('\n')).toMatch(/warning/);
    expect(foundById(input({ 'a.cedar': estate[0]! }, `${exampleSchema}\nentity Broken {`))).not.toEqual([]);
  });
});

describe('reading a joined answer', () => {
  const policy = (id: string): ParsedPolicy => ({ id } as ParsedPolicy);
  const policies = [policy('a'), policy('b'), policy('c')];
  const answer = (...names: string[]): ValidationAnswer => ({
    type: 'success',
    validationErrors: names.map((policyId) => ({ policyId, error: { message: `for policy \`${policyId}\`` } as never })),
    validationWarnings: [],
    otherWarnings: [],
  });

  test.each([
    ['nothing found: the joined verdict', answer(), { verdict: answer() }],
    ['the policies found, by place, once each', answer('policy2', 'policy0', 'policy2'), { again: [policies[2], policies[0]] }],
    ['a place past the end: every policy', answer('policy0', 'policy3'), { again: policies }],
    ['a name not of a place: every policy', answer('policy01'), { again: policies }],
    ['a failure: every policy', { type: 'failure', errors: [], warnings: [] } as ValidationAnswer, { again: policies }],
  ])('%s', (_name, given, expected) => {
    expect(settle(given, policies)).toEqual(expected);
  });

  test.each([
    ['policy0', 0],
    ['policy17', 17],
    ['policy01', -1],
    ['policy', -1],
    ['policy-1', -1],
    ['xpolicy1', -1],
    ['policy1 ', -1],
    ['team1', -1],
  ])('positionOf(%j) is %i', (name, position) => {
    expect(positionOf(name)).toBe(position);
  });
});

describe('a set preparsed as one text answers by the policies\' own ids', () => {
  // Each @id is Cedar's name for another place: read by place, the erring forbid would be taken for a permit.
  const texts = [
    '@id("policy2")\npermit (principal, action, resource);',
    '@id("policy0")\nforbid (principal, action, resource) when { context.source has port && context.source.port * 1000000000000000 > 0 };',
    '@id("policy1")\npermit (principal == Anonymous::"anonymous", action, resource);',
  ];
  const prepared = PolicyEngine.prepare(input({ 'a.cedar': texts.join('\n') }));
  const engine = prepared.ok ? prepared.engine : undefined;
  const request = cedarRequest(workload('spiffe://cluster.local/ns/shop/sa/frontend'), { method: 'GET', service: 'orders.shop', path: '/api/orders' });

  test('an erring forbid denies, named by its own id, as Cedar by id names it', () => {
    const byId = isAuthorized({ ...request, schema: exampleSchema, validateRequest: true, policies: { staticPolicies: { policy2: texts[0]!, policy0: texts[1]!, policy1: texts[2]! } } });
    expect(byId.type === 'success' && byId.response.diagnostics.errors.map((error) => error.policyId)).toEqual(['policy0']);
    const expected = { decision: 'deny', determining: ['policy0'], errors: [{ policy: 'policy0', message: expect.stringContaining('overflow') }] };
    expect(engine?.authorize(request)).toEqual(expected);
    expect(engine?.authorizeAmong(['policy1', 'policy0', 'policy2'], request)).toEqual(expected);
  });

  test('an allow names its permit by its own id, in the whole set and in a subset', () => {
    const withoutPort = { ...request, context: { ...request.context, source: {} } };
    expect(engine?.authorize(withoutPort)).toEqual({ decision: 'allow', determining: ['policy2'], errors: [] });
    expect(engine?.authorizeAmong(['policy1', 'policy2'], withoutPort)).toEqual({ decision: 'allow', determining: ['policy2'], errors: [] });
  });
});

/** Cedar's stateless evaluation of the policies given by their own ids, read as the engine reads it (an erring forbid denies). */
function byId(engine: PolicyEngine, request: CedarRequest): EngineDecision {
  const texts = Object.fromEntries(engine.policies.map((policy) => [policy.id, policy.text]));
  const answer = isAuthorized({ ...request, schema: engine.schemaText, validateRequest: true, policies: { staticPolicies: texts } });
  if (answer.type === 'failure') return { decision: 'deny', determining: [], errors: [{ policy: '', message: answer.errors.map((error) => error.message).join('; ') }] };
  const order = engine.policies.map((policy) => policy.id);
  const inOrder = (ids: readonly string[]): string[] => [...new Set(ids)].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  const { decision, diagnostics } = answer.response;
  const errors = inOrder(diagnostics.errors.map((error) => error.policyId)).flatMap((id) => diagnostics.errors.filter((error) => error.policyId === id).map((error) => ({ policy: id, message: error.error.message })));
  const erredForbids = diagnostics.errors.map((error) => error.policyId).filter((id) => engine.policies.find((policy) => policy.id === id)?.effect === 'forbid');
  if (erredForbids.length === 0) return { decision, determining: inOrder(diagnostics.reason), errors };
  return { decision: 'deny', determining: inOrder([...(decision === 'deny' ? diagnostics.reason : []), ...erredForbids]), errors };
}

test('a set loaded in threads decides as Cedar decides with the policies given by id', async () => {
  const loaded = await PolicyEngine.load(input({ 'a.cedar': policySet(61, 120, []).join('\n') }), { threads: 2, minPoliciesForThreads: 0 });
  if (!loaded.ok) throw new Error(loaded.problems.map(formatProblem).join('\n'));
  // A failed load in between leaves the set that loaded answering.
  const failed = await PolicyEngine.load(input({ 'a.cedar': [...policySet(62, 120, []), unsafe].join('\n') }), { threads: 2, minPoliciesForThreads: 0 });
  expect(failed.ok).toBe(false);
  const random = rng(61);
  const seen = { allows: 0, forbidErrors: 0 };
  for (let i = 0; i < 200; i++) {
    const { identity, facts, path } = randomRequest(random);
    const request = buildCedarRequest(identity, parsedSubject(facts, path), facts, { namespaceLabels: labels });
    const decided = loaded.engine.authorize(request);
    expect({ i, ...decided }).toEqual({ i, ...byId(loaded.engine, request) });
    if (decided.decision === 'allow') seen.allows += 1;
    if (decided.errors.some((error) => loaded.engine.policies.find((policy) => policy.id === error.policy)?.effect === 'forbid')) seen.forbidErrors += 1;
  }
  expect(seen.allows).toBeGreaterThan(0);
  expect(seen.forbidErrors).toBeGreaterThan(0);
}, 120_000);
