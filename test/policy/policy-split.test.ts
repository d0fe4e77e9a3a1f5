import { splitPolicies } from '../../src/policy/policy-split.js';
import { indexOfByteOffset, lineColAt, LineIndex } from '../../src/policy/source-position.js';

describe('splitPolicies', () => {
  test.each([
    { name: 'empty text', text: '', policies: [] },
    { name: 'only blanks and comments', text: '  // a;\n// "b;\n\n', policies: [] },
    { name: 'two policies', text: 'permit(a);\nforbid(b);', policies: [['permit(a);', 0], ['forbid(b);', 11]] },
    { name: 'leading comment and blanks belong to nobody', text: '// why;\n  @id("x")\npermit(a);', policies: [['@id("x")\npermit(a);', 10]] },
    { name: '";" inside a string', text: 'permit(a) when { "x;y" };', policies: [['permit(a) when { "x;y" };', 0]] },
    { name: 'escaped quote inside a string', text: 'permit(a) when { "x\\";y" }; p;', policies: [['permit(a) when { "x\\";y" };', 0], ['p;', 28]] },
    { name: 'escaped backslash ends before the quote', text: 'permit(a) when { "x\\\\" }; p;', policies: [['permit(a) when { "x\\\\" };', 0], ['p;', 26]] },
    { name: '"//" inside a string is not a comment', text: 'permit(a) when { "http://x;" }; p;', policies: [['permit(a) when { "http://x;" };', 0], ['p;', 32]] },
    { name: '";" and a quote inside a comment', text: 'permit(a) // not "the end;\n when { true };', policies: [['permit(a) // not "the end;\n when { true };', 0]] },
    { name: 'text after the last ";" is a policy, for the parser to refuse', text: 'permit(a);\npermit(b)\n\n', policies: [['permit(a);', 0], ['permit(b)', 11]] },
    { name: 'an unterminated string runs to the end', text: 'permit(a) when { "x; };\np;', policies: [['permit(a) when { "x; };\np;', 0]] },
    { name: 'a stray ";"', text: ';permit(a);', policies: [[';', 0], ['permit(a);', 1]] },
    { name: 'CRLF line ends', text: '// c\r\npermit(a);\r\nforbid(b);\r\n', policies: [['permit(a);', 6], ['forbid(b);', 18]] },
  ])('$name', ({ text, policies }) => {
    expect(splitPolicies(text).map((p) => [p.text, p.start])).toEqual(policies);
  });
});

describe('source positions', () => {
  test.each([
    { name: 'ASCII', text: 'ab\ncd', byteOffset: 4, index: 4, line: 2, col: 2 },
    { name: 'two-byte characters', text: 'é\né', byteOffset: 5, index: 3, line: 2, col: 2 },
    { name: 'three-byte character', text: '✓x', byteOffset: 3, index: 1, line: 1, col: 2 },
    { name: 'astral character counts as one column', text: '😀x', byteOffset: 4, index: 2, line: 1, col: 2 },
    { name: 'CRLF', text: 'a\r\nbc', byteOffset: 4, index: 4, line: 2, col: 2 },
    { name: 'start of text', text: 'abc', byteOffset: 0, index: 0, line: 1, col: 1 },
    { name: 'past the end is clamped', text: 'abc', byteOffset: 99, index: 3, line: 1, col: 4 },
  ])('$name', ({ text, byteOffset, index, line, col }) => {
    expect(indexOfByteOffset(text, byteOffset)).toBe(index);
    expect(lineColAt(text, index)).toEqual({ line, col });
  });
});

describe('LineIndex', () => {
  // The definition the index must agree with: lines end at \n, columns count code points.
  const byScan = (text: string, index: number): { line: number; col: number } => {
    const before = text.slice(0, index);
    return { line: before.split('\n').length, col: [...before.slice(before.lastIndexOf('\n') + 1)].length + 1 };
  };

  test('every index of a text with CRLF, blank lines, astral and lone surrogates agrees with a scan from the start', () => {
    const text = 'permit (\r\n  principal,\n\n😀 "é✓"\n\ud800x\udc00\n😀😀';
    const lines = new LineIndex(text);
    for (let index = -2; index <= text.length + 2; index++) expect([index, lines.at(index)]).toEqual([index, byScan(text, Math.max(0, index))]);
  });

  test('one index answers for many places of a large file', () => {
    const text = Array.from({ length: 10_000 }, (_, i) => `@id("p${i}")\npermit (principal, action, resource);\n`).join('');
    const lines = new LineIndex(text);
    expect(lines.at(text.indexOf('@id("p4999")'))).toEqual({ line: 9999, col: 1 });
    expect(lines.at(text.length)).toEqual({ line: 20_001, col: 1 });
  });
});
