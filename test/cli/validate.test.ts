import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { examplePolicyDir, gatehouse, lastLine, removeScratch, scratchDir } from './cli.js';

const schema = readFileSync(join(examplePolicyDir, 'schema.cedarschema'), 'utf8');
const policyDir = (files: Record<string, string>) => scratchDir({ 'schema.cedarschema': schema, ...files });

afterAll(removeScratch);

describe('gatehouse validate', () => {
  test('the shipped policies are valid and draw no warning', async () => {
    const run = await gatehouse(['validate', '--policies', examplePolicyDir]);
    expect(run).toEqual({ code: 0, stdout: `${examplePolicyDir}: 21 policies valid\n`, stderr: '' });
  });

  test('a syntax error is reported at its FILE:LINE:COL and makes the set invalid', async () => {
    const dir = await policyDir({
      'ok.cedar': '@id("ok")\npermit (principal, action, resource == Service::"orders.shop");\n',
      'broken.cedar': '// reads orders\n@id("broken")\npermit (principal, action in Action::"read", resource)\nwhen { context.path like "/api/*" ~ };\n',
    });
    const run = await gatehouse(['validate', '--policies', dir]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`${dir}/broken.cedar:4:35: failed to parse policy from string: invalid token\n${dir}: invalid: 1 error, 0 warnings\n`);
  });

  test('a schema violation names the policy and says it once for every action', async () => {
    const dir = await policyDir({ 'typo.cedar': '@id("typo")\npermit (principal, action, resource)\nwhen { context.pth == "/" };\n' });
    const run = await gatehouse(['validate', '--policies', dir]);
    expect(run.code).toBe(1);
    const actions = ['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE'].map((a) => `Action::"${a}"`).join(', ');
    expect(run.stderr.split('\n')).toEqual([
      `${dir}/typo.cedar:3:8: for policy \`typo\`, attribute \`pth\` in context for ${actions} not found (did you mean \`path\`?)`,
      `${dir}: invalid: 1 error, 0 warnings`,
      '',
    ]);
  });

  // Regression: two actions in one message ("X (did you mean Y?)") were merged into both
  // places, and the warnings that only follow from the error were listed before it.
  test.each([
    ['action ==', 'action == Action::"POSTT"', 30],
    ['action in', 'action in [Action::"GET", Action::"POSTT"]', 46],
  ])('a misspelt action (%s) gets Cedar\'s own hint and no follow-on warnings', async (_name, scope, col) => {
    const dir = await policyDir({ 'typo.cedar': `@id("typo")\npermit (principal, ${scope}, resource);\n` });
    const run = await gatehouse(['validate', '--policies', dir]);
    expect(run.code).toBe(1);
    expect(run.stderr.split('\n')).toEqual([
      `${dir}/typo.cedar:2:${col}: for policy \`typo\`, unrecognized action \`Action::"POSTT"\` (did you mean \`Action::"POST"\`?)`,
      `${dir}: invalid: 1 error, 0 warnings`,
      '',
    ]);
  });

  test('warnings about other policies stay beside an error', async () => {
    const dir = await policyDir({
      'a.cedar': '@id("typo")\npermit (principal, action == Action::"POSTT", resource);\n@id("never")\npermit (principal is Service, action, resource);\n',
    });
    const run = await gatehouse(['validate', '--policies', dir]);
    expect(run.code).toBe(1);
    expect(lastLine(run.stderr)).toBe(`${dir}: invalid: 1 error, 2 warnings`);
    expect(run.stderr).toContain('for policy `never`, unable to find an applicable action');
  });

  test('an entity type the schema does not declare is an error', async () => {
    const dir = await policyDir({ 'a.cedar': '@id("pods")\npermit (principal is Pod, action, resource);\n' });
    const run = await gatehouse(['validate', '--policies', dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${dir}/a.cedar:2:22: for policy \`pods\`, unrecognized entity type \`Pod\``);
  });

  test('policies that can never apply are warnings, marked, and the set stays valid', async () => {
    const dir = await policyDir({
      'never.cedar': [
        '@id("service-as-principal")',
        'permit (principal is Service, action, resource);',
        '@id("short-name")',
        'permit (principal == Workload::"frontend", action in Action::"read", resource);',
        '@id("other-anonymous")',
        'forbid (principal == Anonymous::"nobody", action, resource);',
        '',
      ].join('\n'),
    });
    const run = await gatehouse(['validate', '--policies', dir]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${dir}: 3 policies valid, 4 warnings\n`);
    expect(run.stderr.split('\n')).toEqual([
      `${dir}/never.cedar:1:1: warning: for policy \`service-as-principal\`, unable to find an applicable action given the policy scope constraints`,
      `${dir}/never.cedar:1:1: warning: for policy \`service-as-principal\`, policy is impossible: the policy expression evaluates to false for all valid requests`,
      `${dir}/never.cedar:4:22: warning: Workload::"frontend" can never match a request: a workload is named by its SPIFFE ID, such as "spiffe://cluster.local/ns/shop/sa/frontend" (SPIFFE ID must start with spiffe://)`,
      `${dir}/never.cedar:6:22: warning: Anonymous::"nobody" can never match a request: the only anonymous principal is Anonymous::"anonymous"`,
      '',
    ]);
  });

  test('a missing schema makes the set invalid', async () => {
    const dir = await scratchDir({ 'a.cedar': 'permit (principal, action, resource);\n' });
    const run = await gatehouse(['validate', '--policies', dir]);
    expect(run).toEqual({ code: 1, stdout: '', stderr: `${dir}/schema.cedarschema: the schema is missing\n` });
  });

  test('an unknown flag is a usage error', async () => {
    const run = await gatehouse(['validate', '--polices', 'x']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^gatehouse validate: Unknown option '--polices'/);
  });
});
