/**
 * `PolicyEngine.load` parses and validates in threads, in parts; it must find exactly what
 * `prepare` finds in one call on the caller's thread: the same policies, versions, warnings and
 * problems, each at the same FILE:LINE:COL.
 */
import { policyToJson, validate } from '@cedar-policy/cedar-wasm/nodejs';
import { PolicyEngine, type PrepareResult } from '../../src/policy/cedar/engine.js';
import { CedarThreads } from '../../src/policy/cedar/threads.js';
import { formatProblem } from '../../src/policy/problem.js';
import type { PolicySetInput } from '../../src/policy/version.js';
import { policySet } from './generated-estate.js';
import { exampleSchema } from './policy-fixtures.js';

const threaded = { threads: 3, minPoliciesForThreads: 0 };

function input(files: Record<string, string>): PolicySetInput {
  return { files: Object.entries(files).map(([name, text]) => ({ name, text })), schemaText: exampleSchema, schemaFile: 'schema.cedarschema' };
}

/**
 * What a load found, in a form toEqual can compare (an engine holds functions and caches).
 * Problems at one place are in Cedar's order, which it does not keep from one call to the next
 * (one per action a policy's scope allows): they are compared as sorted lists.
 */
function found(result: PrepareResult): unknown {
  if (!result.ok) return { problems: result.problems.map(formatProblem).sort() };
  const { engine } = result;
  return {
    version: engine.version,
    policies: engine.policies.map((policy) => ({ ...policy, json: engine.policyJson(policy.id) })),
    warnings: engine.warnings.map(formatProblem).sort(),
  };
}

function filler(i: number): string {
  return `@id("team${i}")\npermit (\n  principal == Workload::"spiffe://cluster.local/ns/team${i}/sa/client",\n  action in Action::"read",\n  resource == Service::"api.team${i}"\n) when { context.path like "/api/*" };\n`;
}

/** The 1-based line and column of `index` in `text`, counted from the start. */
function position(text: string, index: number): string {
  const before = text.slice(0, index);
  return `${before.split('\n').length}:${[...before.slice(before.lastIndexOf('\n') + 1)].length + 1}`;
}

describe('CedarThreads', () => {
  // The load falls back to the caller's thread when threads fail, so they are checked here on their own.
  test('answer as cedar-wasm does in this thread, in order, whatever the share-out', async () => {
    const threads = new CedarThreads(3);
    try {
      const texts = [filler(1), 'permit (principal action, resource);', filler(2), filler(3)];
      expect(await threads.toJson(texts)).toEqual(texts.map((text) => policyToJson(text)));
      const call = { schema: exampleSchema, policies: { staticPolicies: { a: filler(1), b: 'permit (principal, action, resource) when { context.nosuch };' } }, validationSettings: { mode: 'strict' as const } };
      const [answer] = await threads.validate([call]);
      // One error per action, in an order Cedar does not keep from one call to the next.
      const errors = (verdict: ReturnType<typeof validate> | undefined): string[] => (verdict?.type === 'success' ? verdict.validationErrors.map((found) => JSON.stringify(found)).sort() : []);
      expect(errors(answer)).toEqual(errors(validate(call)));
      expect(errors(answer).length).toBeGreaterThan(0);
    } finally {
      await threads.close();
    }
  });

  test('more runs than threads: each thread takes the next run as it finishes one, the answers stay in order', async () => {
    const threads = new CedarThreads(2, 120_000, 3);
    try {
      const texts = Array.from({ length: 13 }, (_, i) => (i % 4 === 3 ? `permit (principal action, resource); // ${i}` : filler(i)));
      expect(await threads.toJson(texts)).toEqual(texts.map((text) => policyToJson(text)));
      const calls = texts.map((text) => ({ schema: exampleSchema, policies: { staticPolicies: { [`p${text.length}`]: text } }, validationSettings: { mode: 'strict' as const } }));
      expect((await threads.validate(calls)).map((answer) => answer.type)).toEqual(calls.map((call) => validate(call).type));
      expect(new Set((await threads.validate(calls)).map((answer) => answer.type))).toEqual(new Set(['success', 'failure']));
    } finally {
      await threads.close();
    }
  });
});

test('a thread that does not answer in time fails the call instead of holding it', async () => {
  const threads = new CedarThreads(1, 1);
  try {
    await expect(threads.toJson(Array.from({ length: 2000 }, (_, i) => filler(i)))).rejects.toThrow('cedar thread gave no answer within 1 ms');
  } finally {
    await threads.close();
  }
});

describe('a threaded load finds what prepare finds', () => {
  test.each([
    [31, 40],
    [32, 400],
  ])('generated estate, seed %i with %i policies, in two files', async (seed, count) => {
    const texts = policySet(seed, count, []);
    const files = input({ 'a.cedar': texts.slice(0, count / 2).join('\n'), 'b.cedar': texts.slice(count / 2).join('\n') });
    const loaded = await PolicyEngine.load(files, threaded);
    expect(loaded.ok).toBe(true);
    expect(found(loaded)).toEqual(found(PolicyEngine.prepare(files)));
  });

  test('every kind of problem, in several files: parse errors, schema violations, warnings, duplicate and empty ids', async () => {
    const files = input({
      'a.cedar': [filler(1), 'permit (principal, action, resource) when { context.nosuch == 1 };', filler(2), '@id("")\npermit (principal, action, resource);'].join('\n'),
      'b.cedar': [filler(1), 'permit (principal, action == Action::"GETT", resource);', 'permit (principal action, resource);', filler(3)].join('\n'),
      'c.cedar': ['permit (principal == Anonymous::"anonymous", action, resource) when { 1 == "a" };', filler(4), 'forbid (principal, action, resource) unless { context.path like "/x" '].join('\n'),
    });
    const loaded = await PolicyEngine.load(files, threaded);
    const prepared = PolicyEngine.prepare(files);
    expect(prepared.ok).toBe(false);
    expect(found(loaded)).toEqual(found(prepared));
  });

  test('a set with warnings but no error loads the same', async () => {
    const files = input({ 'a.cedar': [filler(1), '@id("never")\npermit (principal is Anonymous, action, resource) when { principal is Workload };', filler(2)].join('\n') });
    const loaded = await PolicyEngine.load(files, threaded);
    expect(loaded.ok && loaded.engine.warnings.length).toBeGreaterThan(0);
    expect(found(loaded)).toEqual(found(PolicyEngine.prepare(files)));
  });

  test('no policy at all', async () => {
    const files = input({});
    expect(found(await PolicyEngine.load(files, threaded))).toEqual(found(PolicyEngine.prepare(files)));
  });
});

describe('positions in a large file stay exact', () => {
  const count = 5_001;
  const bad = 4_999;

  test('a parse error in the 5,000th policy of a file is reported at its own line and column', async () => {
    const policies = Array.from({ length: count }, (_, i) => filler(i));
    policies[bad] = policies[bad]!.replace('action in', 'action in in');
    const text = policies.join('\n');
    const result = await PolicyEngine.load(input({ 'big.cedar': text }), { threads: 2, minPoliciesForThreads: 0 });
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems.map(formatProblem);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^big\\.cedar:${position(text, text.indexOf('in in') + 'in in '.length)}: .*unexpected token`));
  }, 180_000);

  test('a schema violation in the 5,000th policy of a file is reported at its own line and column', async () => {
    const policies = Array.from({ length: count }, (_, i) => filler(i));
    policies[bad] = policies[bad]!.replace('context.path like', 'context.nosuch like');
    const text = policies.join('\n');
    const result = await PolicyEngine.load(input({ 'big.cedar': text }), { threads: 2, minPoliciesForThreads: 0 });
    const problems = result.ok ? [] : result.problems.map(formatProblem);
    // One per action of the read group (GET, HEAD, OPTIONS), all at the attribute.
    expect(problems).toHaveLength(3);
    for (const problem of problems) expect(problem).toMatch(new RegExp(`^big\\.cedar:${position(text, text.indexOf('context.nosuch'))}: for policy \`team4999\`, attribute \`nosuch\``));
  }, 180_000);
});
