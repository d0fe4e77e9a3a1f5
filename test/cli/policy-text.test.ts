/**
 * The text-level helpers the policy commands stand on: clause sources for `check`, entity
 * literals for `validate`, and the guards of `format`.
 */
import { formatPolicyFile } from '../../src/policy/format-file.js';
import { conditionClauses, entityLiterals } from '../../src/policy/policy-source.js';

describe('conditionClauses', () => {
  test.each([
    ['no conditions', '@id("a") permit (principal, action, resource);', []],
    ['one when', 'permit (principal, action, resource)\nwhen { context.path like "/a*" };', [['when', 'when { context.path like "/a*" }']]],
    [
      'when then unless, after annotations and a scope with brackets',
      '@id("x") @doc("}{") permit (principal, action in [Action::"GET"], resource) when { true } unless { false };',
      [
        ['when', 'when { true }'],
        ['unless', 'unless { false }'],
      ],
    ],
    ['braces in strings and records', 'permit (principal, action, resource) when { {a: "}"}.a == "}" };', [['when', 'when { {a: "}"}.a == "}" }']]],
    ['a comment with a brace', 'permit (principal, action, resource) // }\nwhen { true // {\n};', [['when', 'when { true // {\n}']]],
  ] as const)('%s', (_name, text, expected) => {
    expect(conditionClauses(text).map((clause) => [clause.kind, clause.text])).toEqual(expected);
  });

  test('start is where the clause begins in the policy text', () => {
    const text = 'permit (principal, action, resource)\nunless { false };';
    expect(conditionClauses(text)[0]?.start).toBe(text.indexOf('unless'));
  });
});

describe('entityLiterals', () => {
  test.each([
    ['scope and condition', 'permit (principal == Workload::"w", action == Action::"GET", resource) when { principal in Namespace::"n" };', ['Workload w', 'Action GET', 'Namespace n']],
    ['spacing around ::', 'permit (principal == Workload :: "w", action, resource);', ['Workload w']],
    ['a namespaced type keeps its path', 'permit (principal == Acme::Workload::"w", action, resource);', ['Acme::Workload w']],
    ['escapes are decoded', String.raw`permit (principal == Workload::"a\"b\u{41}", action, resource);`, ['Workload a"bA']],
    ['comments and strings are not literals', 'permit (principal, action, resource) // Workload::"x"\nwhen { context.path == "Workload::\\"y\\"" };', []],
  ] as const)('%s', (_name, text, expected) => {
    expect(entityLiterals(text).map((literal) => `${literal.type} ${literal.id}`)).toEqual(expected);
  });
});

describe('formatPolicyFile', () => {
  test('lays out policies, keeping the file header apart from the first policy', () => {
    expect(formatPolicyFile('// File header.\n\n// About a.\npermit(principal,action,resource);\n')).toEqual({
      ok: true,
      text: '// File header.\n\n// About a.\npermit (principal, action, resource);\n',
    });
  });

  test('a comment directly above the first policy stays attached to it', () => {
    expect(formatPolicyFile('// About a.\npermit(principal,action,resource);')).toEqual({ ok: true, text: '// About a.\npermit (principal, action, resource);\n' });
  });

  test('CRLF files come out with LF, comments intact', () => {
    expect(formatPolicyFile('// h\r\n\r\npermit (principal, action, resource); // why\r\n')).toEqual({ ok: true, text: '// h\n\npermit (principal, action, resource); // why\n' });
  });

  test('a file without policies is left as it is', () => {
    expect(formatPolicyFile('')).toEqual({ ok: true, text: '' });
    expect(formatPolicyFile('// retired\n')).toEqual({ ok: true, text: '// retired\n' });
  });

  test('a file that does not parse is refused with LINE:COL', () => {
    expect(formatPolicyFile('permit (principal, action, resource)\nwhen { x ~ };')).toEqual({
      ok: false,
      problems: [{ where: '2:10', message: 'cannot parse input policies: invalid token' }],
    });
  });
});
