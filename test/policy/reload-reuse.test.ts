/**
 * A reload takes from the set loaded before every answer Cedar gave about a policy that has not
 * changed (its JSON by text; a clean verdict by id, text and schema) and asks Cedar about the
 * rest. What it finds must be exactly what a load from nothing finds.
 */
import { nothingToReuse, worthThreads, type Reusable } from '../../src/policy/cedar/check-set.js';
import { PolicyEngine, type PrepareResult } from '../../src/policy/cedar/engine.js';
import { splitFiles } from '../../src/policy/cedar/validate.js';
import { untimed } from '../../src/policy/load-phases.js';
import { formatProblem } from '../../src/policy/problem.js';
import type { PolicySetInput } from '../../src/policy/version.js';
import { policySet } from './generated-estate.js';
import { exampleSchema } from './policy-fixtures.js';

function input(files: Record<string, string>, schemaText = exampleSchema): PolicySetInput {
  return { files: Object.entries(files).map(([name, text]) => ({ name, text })), schemaText, schemaFile: 'schema.cedarschema' };
}

/** What a load found (problems at one place in Cedar's order, which varies: sorted). */
function found(result: PrepareResult): unknown {
  if (!result.ok) return { problems: result.problems.map(formatProblem).sort() };
  const { engine } = result;
  return { version: engine.version, policies: engine.policies.map((policy) => ({ ...policy, json: engine.policyJson(policy.id) })), warnings: engine.warnings.map(formatProblem).sort() };
}

function filler(i: number, path = '/api/*'): string {
  return `@id("team${i}")\npermit (\n  principal == Workload::"spiffe://cluster.local/ns/team${i}/sa/client",\n  action in Action::"read",\n  resource == Service::"api.team${i}"\n) when { context.path like "${path}" };\n`;
}

async function loaded(files: PolicySetInput, earlier?: PolicyEngine): Promise<PolicyEngine> {
  const result = await PolicyEngine.load(files, { earlier, threads: 0 });
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
  return result.engine;
}

const fillers = (count: number): string[] => Array.from({ length: count }, (_, i) => filler(i));

describe('a reload reuses what has not changed', () => {
  test('unchanged policies keep the very JSON Cedar gave before; a changed one is parsed again', async () => {
    const before = await loaded(input({ 'a.cedar': fillers(5).join('\n') }));
    const changed = fillers(5);
    changed[2] = filler(2, '/api/v2/*');
    const after = await loaded(input({ 'a.cedar': changed.join('\n') }), before);
    expect(after.policyJson('team1')).toBe(before.policyJson('team1'));
    expect(after.policyJson('team2')).not.toBe(before.policyJson('team2'));
    expect(JSON.stringify(after.policyJson('team2'))).toContain('{"Literal":"2"}');
  });

  test.each([
    ['a new error in one policy', (texts: string[]) => ({ 'a.cedar': texts.map((text, i) => (i === 3 ? text.replace('context.path', 'context.nosuch') : text)).join('\n') })],
    ['a parse error in one policy', (texts: string[]) => ({ 'a.cedar': texts.map((text, i) => (i === 3 ? text.replace('action in', 'action in in') : text)).join('\n') })],
    ['the policies moved to another file (their ids named by place change)', (texts: string[]) => ({ 'b.cedar': texts.join('\n') })],
    ['a policy with a warning added', (texts: string[]) => ({ 'a.cedar': [...texts, 'permit (principal is Anonymous, action, resource) when { principal is Workload };'].join('\n') })],
    ['a duplicate id', (texts: string[]) => ({ 'a.cedar': texts.join('\n'), 'b.cedar': texts[0]! })],
  ])('%s: the reload finds what a load from nothing finds', async (_name, change) => {
    const texts = [...policySet(41, 30, []), ...fillers(6)];
    const before = await loaded(input({ 'a.cedar': texts.join('\n') }));
    const files = input(change(texts));
    expect(found(await PolicyEngine.load(files, { earlier: before, threads: 0 }))).toEqual(found(PolicyEngine.prepare(files)));
  });

  test('a schema change validates every policy again', async () => {
    const before = await loaded(input({ 'a.cedar': fillers(4).join('\n') }));
    // The same policies under a schema whose context has no path: each is now an error.
    const schema = exampleSchema.replace(/path: String,/, '');
    expect(schema).not.toBe(exampleSchema);
    const files = input({ 'a.cedar': fillers(4).join('\n') }, schema);
    const reloaded = await PolicyEngine.load(files, { earlier: before, threads: 0 });
    expect(reloaded.ok).toBe(false);
    expect(found(reloaded)).toEqual(found(PolicyEngine.prepare(files)));
  });

  test('a warning on an unchanged policy is found again, not dropped with the reused verdicts', async () => {
    const warned = '@id("never")\npermit (principal is Anonymous, action, resource) when { principal is Workload };';
    const before = await loaded(input({ 'a.cedar': [...fillers(3), warned].join('\n') }));
    expect(before.warnings.length).toBeGreaterThan(0);
    const files = input({ 'a.cedar': [...fillers(3), warned, filler(9)].join('\n') });
    const after = await PolicyEngine.load(files, { earlier: before, threads: 0 });
    expect(found(after)).toEqual(found(PolicyEngine.prepare(files)));
    expect(after.ok && after.engine.warnings.map((warning) => warning.policy)).toContain('never');
  });

  test('in threads too', async () => {
    const before = await loaded(input({ 'a.cedar': fillers(40).join('\n') }));
    const texts = fillers(40).map((text, i) => (i % 7 === 0 ? text.replace('/api/*', '/v2/*') : text));
    texts[12] = texts[12]!.replace('context.path', 'context.nosuch');
    const files = input({ 'a.cedar': texts.join('\n') });
    expect(found(await PolicyEngine.load(files, { earlier: before, threads: 2, minPoliciesForThreads: 0 }))).toEqual(found(PolicyEngine.prepare(files)));
  });

  test('a schema change in threads finds what a load from nothing finds', async () => {
    const before = await loaded(input({ 'a.cedar': fillers(40).join('\n') }));
    const files = input({ 'a.cedar': fillers(40).join('\n') }, exampleSchema.replace(/path: String,/, ''));
    const reloaded = await PolicyEngine.load(files, { earlier: before, threads: 2, minPoliciesForThreads: 10 });
    expect(reloaded.ok).toBe(false);
    expect(found(reloaded)).toEqual(found(PolicyEngine.prepare(files)));
  });
});

describe('when a load starts threads', () => {
  const texts = fillers(600);
  const files = input({ 'a.cedar': texts.join('\n') });
  const split = splitFiles(files, untimed);
  const sources = split.flatMap((file) => file.sources.map((source) => source.text));
  /** What an earlier set under `schemaText` answers: the JSON of every policy but the `changed` first ones. */
  const earlier = (changed: number, schemaText: string): Reusable => ({
    json: (text) => (sources.indexOf(text) >= changed ? { effect: 'permit', principal: { op: 'All' }, action: { op: 'All' }, resource: { op: 'All' }, conditions: [] } : undefined),
    passed: (_id, _text, schema) => schema === schemaText,
    validatedUnder: (schema) => schema === schemaText,
  });
  const plan = { threads: 2, minPolicies: 500 };

  test.each([
    ['a cold load of 600', nothingToReuse, plan, true],
    ['a cold load of 600, no threads allowed', nothingToReuse, { ...plan, threads: 0 }, false],
    ['a cold load of 600 under a threshold of 601', nothingToReuse, { ...plan, minPolicies: 601 }, false],
    ['a reload with 10 policies changed', earlier(10, exampleSchema), plan, false],
    ['a reload with 550 policies changed', earlier(550, exampleSchema), plan, true],
    ['a reload with none changed but the schema: every policy to validate again', earlier(0, `${exampleSchema}\n`), plan, true],
  ])('%s', (_name, reuse, given, expected) => {
    expect(sources).toHaveLength(600);
    expect(worthThreads(files, split, reuse, given)).toBe(expected);
  });
});
