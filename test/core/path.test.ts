import { normalizePath, resolvePath, type NormalizedPath } from '../../src/core/path.js';
import type { Result } from '../../src/core/result.js';

function normalized(path: string, query = ''): Result<NormalizedPath> {
  return { ok: true, value: { path, query } };
}

function refused(reason: string): Result<NormalizedPath> {
  return { ok: false, reason };
}

const hex = (byte: number): string => byte.toString(16).padStart(2, '0').toUpperCase();
const byteValues = Array.from({ length: 256 }, (_, byte) => byte);

describe('normalizePath', () => {
  const cases: { name: string; rawPath: string; expected: Result<NormalizedPath> }[] = [
    { name: 'root', rawPath: '/', expected: normalized('/') },
    { name: 'plain path', rawPath: '/api/orders', expected: normalized('/api/orders') },
    { name: 'trailing slash is kept', rawPath: '/api/orders/', expected: normalized('/api/orders/') },
    { name: 'every literal pchar but ";"', rawPath: "/aZ09-._~!$&'()*+,=:@", expected: normalized("/aZ09-._~!$&'()*+,=:@") },

    { name: 'query split off', rawPath: '/api/orders?id=7', expected: normalized('/api/orders', 'id=7') },
    { name: 'empty query', rawPath: '/api?', expected: normalized('/api') },
    { name: 'query on root', rawPath: '/?a=b', expected: normalized('/', 'a=b') },
    { name: 'query keeps dot segments intact', rawPath: '/api?x=/../admin', expected: normalized('/api', 'x=/../admin') },
    { name: 'query keeps escapes as sent', rawPath: '/api?q=%2f%2e%2e%5C%41', expected: normalized('/api', 'q=%2f%2e%2e%5C%41') },
    { name: 'query keeps a second question mark', rawPath: '/api?a=1?b=2', expected: normalized('/api', 'a=1?b=2') },
    { name: 'query keeps a backslash', rawPath: '/api?path=C:\\tmp', expected: normalized('/api', 'path=C:\\tmp') },
    { name: 'query keeps an invalid escape', rawPath: '/api?q=100%', expected: normalized('/api', 'q=100%') },
    { name: 'query keeps characters a path may not have', rawPath: '/api?q={"a":[1]}|^', expected: normalized('/api', 'q={"a":[1]}|^') },
    // Issue #14: a fragment never comes from a client; dropping it let `#` split what parsers see.
    { name: 'a fragment', rawPath: '/api/orders#top', expected: refused('path contains "#"') },
    { name: 'a fragment after a query', rawPath: '/api?a=1#frag', expected: refused('path contains "#"') },
    { name: 'a question mark inside a fragment', rawPath: '/api#frag?a=1', expected: refused('path contains "#"') },
    { name: 'a fragment hiding a traversal', rawPath: '/api#/../admin', expected: refused('path contains "#"') },

    { name: 'unreserved letter decoded', rawPath: '/%61pi', expected: normalized('/api') },
    { name: 'unreserved escapes decoded in any hex case', rawPath: '/%41%7e%7E%2d%5f%2E%30', expected: normalized('/A~~-_.0') },
    { name: 'reserved escape kept with upper-case hex', rawPath: '/a%3ab%2Cc%40', expected: normalized('/a%3Ab%2Cc%40') },
    { name: 'encoded percent is not decoded twice', rawPath: '/a%2561', expected: normalized('/a%2561') },
    { name: 'encoded UTF-8 kept, hex upper-cased', rawPath: '/caf%c3%a9', expected: normalized('/caf%C3%A9') },
    { name: 'encoded space kept', rawPath: '/a%20b', expected: normalized('/a%20b') },
    { name: 'encoded question mark stays in the path', rawPath: '/a%3fb?c', expected: normalized('/a%3Fb', 'c') },
    { name: 'encoded hash stays in the path', rawPath: '/a%23b', expected: normalized('/a%23b') },
    { name: 'encoded control character kept', rawPath: '/a%0d%0Ab', expected: normalized('/a%0D%0Ab') },

    { name: 'single dot segment', rawPath: '/api/./orders', expected: normalized('/api/orders') },
    { name: 'leading dot segment', rawPath: '/./api', expected: normalized('/api') },
    { name: 'trailing dot segment', rawPath: '/api/.', expected: normalized('/api/') },
    { name: 'dot-dot removes one segment', rawPath: '/api/orders/../admin', expected: normalized('/api/admin') },
    { name: 'two dot-dots', rawPath: '/api/orders/../../admin', expected: normalized('/admin') },
    { name: 'trailing dot-dot', rawPath: '/api/orders/..', expected: normalized('/api/') },
    { name: 'dot-dot at root', rawPath: '/..', expected: normalized('/') },
    { name: 'dot-dot above root', rawPath: '/../../../etc/passwd', expected: normalized('/etc/passwd') },
    { name: 'single dot at root', rawPath: '/.', expected: normalized('/') },
    { name: 'RFC 3986 §5.2.4 example', rawPath: '/a/b/c/./../../g', expected: normalized('/a/g') },
    { name: 'RFC 3986 §5.4.1 example mid/6', rawPath: '/mid/content=5/../6', expected: normalized('/mid/6') },
    { name: 'encoded dot-dot', rawPath: '/api/orders/%2e%2e/admin', expected: normalized('/api/admin') },
    { name: 'upper-case encoded dot-dot', rawPath: '/api/orders/%2E%2E/admin', expected: normalized('/api/admin') },
    { name: 'half-encoded dot-dot', rawPath: '/api/orders/.%2e/admin', expected: normalized('/api/admin') },
    { name: 'encoded single dot', rawPath: '/api/%2e/orders', expected: normalized('/api/orders') },
    { name: 'three dots are a name', rawPath: '/api/.../x', expected: normalized('/api/.../x') },
    { name: 'dot-prefixed name is not a dot segment', rawPath: '/api/..hidden/.x', expected: normalized('/api/..hidden/.x') },
    { name: 'dot-dot with a parameter (the ..;/ bypass)', rawPath: '/api/..;/admin', expected: refused('path has a ";" parameter (request.pathParameters: reject)') },
    { name: 'dot-dot in the path but not the query', rawPath: '/a/../b?c=/../d', expected: normalized('/b', 'c=/../d') },

    { name: 'double slash kept (merging is the operator\'s merge_slashes)', rawPath: '//api//orders', expected: normalized('//api//orders') },
    { name: 'dot-dot after a double slash pops the empty segment', rawPath: '/a//../b', expected: normalized('/a/b') },
    { name: 'dot-dot at root of a double slash', rawPath: '//..', expected: normalized('/') },

    { name: 'encoded slash', rawPath: '/api/orders/..%2Fadmin', expected: refused('path contains an encoded "/"') },
    { name: 'lower-case encoded slash', rawPath: '/api%2forders', expected: refused('path contains an encoded "/"') },
    { name: 'encoded backslash', rawPath: '/api/..%5Cadmin', expected: refused('path contains an encoded backslash') },
    { name: 'lower-case encoded backslash', rawPath: '/api%5cadmin', expected: refused('path contains an encoded backslash') },
    { name: 'literal backslash', rawPath: '/api\\..\\admin', expected: refused('path contains a backslash') },
    { name: 'encoded NUL', rawPath: '/api/orders%00.json', expected: refused('path contains NUL') },
    { name: 'encoded NUL in the query', rawPath: '/api?file=a%00.png', expected: refused('path contains NUL') },
    { name: 'literal NUL', rawPath: '/api\u0000/admin', expected: refused('path contains NUL') },
    { name: 'literal NUL in the query', rawPath: '/api?a=\u0000', expected: refused('path contains NUL') },
    { name: 'CR LF', rawPath: '/api\r\nX-Injected: 1', expected: refused('path contains a control character') },
    { name: 'tab', rawPath: '/api\t', expected: refused('path contains a control character') },
    { name: 'DEL in the query', rawPath: '/api?a=\u007f', expected: refused('path contains a control character') },
    { name: 'space', rawPath: '/api orders', expected: refused('path contains a space') },
    { name: 'space in the query', rawPath: '/api?a=b c', expected: refused('path contains a space') },
    { name: 'non-ASCII', rawPath: '/caf\u00e9', expected: refused('path contains a non-ASCII character') },
    { name: 'non-ASCII in a fragment', rawPath: '/a#\u00e9', expected: refused('path contains a non-ASCII character') },
    { name: 'fullwidth dot-dot (U+FF0E)', rawPath: '/api/\uff0e\uff0e/admin', expected: refused('path contains a non-ASCII character') },
    { name: 'astral character', rawPath: '/\u{1F600}', expected: refused('path contains a non-ASCII character') },
    { name: 'lone percent', rawPath: '/100%', expected: refused('path has an invalid percent-encoding') },
    { name: 'percent with one hex digit', rawPath: '/a%4', expected: refused('path has an invalid percent-encoding') },
    { name: 'percent with non-hex digits', rawPath: '/a%zz', expected: refused('path has an invalid percent-encoding') },
    { name: 'percent with a sign', rawPath: '/a%+1b', expected: refused('path has an invalid percent-encoding') },
    { name: 'percent before the query', rawPath: '/a%?b=1', expected: refused('path has an invalid percent-encoding') },
    { name: 'IIS %u escape', rawPath: '/a%u002e%u002e/admin', expected: refused('path has an invalid percent-encoding') },
    { name: 'double-encoded slash is kept as an encoded percent', rawPath: '/api/..%252Fadmin', expected: normalized('/api/..%252Fadmin') },
    { name: 'pipe', rawPath: '/a|b', expected: refused('path contains a character that must be percent-encoded') },
    { name: 'square brackets', rawPath: '/a[0]', expected: refused('path contains a character that must be percent-encoded') },
    { name: 'double quote', rawPath: '/"a"', expected: refused('path contains a character that must be percent-encoded') },

    { name: 'empty', rawPath: '', expected: refused('path must start with "/"') },
    { name: 'asterisk-form', rawPath: '*', expected: refused('path must start with "/"') },
    { name: 'absolute-form', rawPath: 'http://evil.example/admin', expected: refused('path must start with "/"') },
    { name: 'relative path', rawPath: 'api/orders', expected: refused('path must start with "/"') },
    { name: 'query only', rawPath: '?a=b', expected: refused('path must start with "/"') },
    { name: 'dot-dot relative', rawPath: '../admin', expected: refused('path must start with "/"') },
    { name: 'encoded leading slash', rawPath: '%2Fadmin', expected: refused('path must start with "/"') },
  ];

  test.each(cases)('$name', ({ rawPath, expected }) => {
    expect(normalizePath(rawPath)).toEqual(expected);
  });
});

describe('normalizePath: length bound', () => {
  const cases: { name: string; rawPath: string; expected: Result<NormalizedPath> }[] = [
    { name: '8192 characters', rawPath: `/${'a'.repeat(8191)}`, expected: normalized(`/${'a'.repeat(8191)}`) },
    { name: '8192 characters counting the query', rawPath: `/a?${'q'.repeat(8189)}`, expected: normalized('/a', 'q'.repeat(8189)) },
    { name: '8193 characters', rawPath: `/${'a'.repeat(8192)}`, expected: refused('path is longer than 8192 characters') },
    { name: '8193 characters counting the query', rawPath: `/a?${'q'.repeat(8190)}`, expected: refused('path is longer than 8192 characters') },
    { name: 'a megabyte of dot-dot segments', rawPath: '/..'.repeat(350_000), expected: refused('path is longer than 8192 characters') },
  ];

  test.each(cases)('$name', ({ rawPath, expected }) => {
    expect(normalizePath(rawPath)).toEqual(expected);
  });
});

describe('normalizePath: every byte value as a literal character in a segment', () => {
  // RFC 3986 pchar (unreserved, sub-delims but ';', ':', '@'), plus '/' and '?' which structure the
  // target. ';' starts a path parameter and '#' a fragment: both refused. '%' only starts an escape.
  const allowed = /^[A-Za-z0-9\-._~!$&'()*+,=:@/?]$/;

  function expectedFor(char: string): Result<NormalizedPath> | undefined {
    if (!allowed.test(char)) return undefined;
    if (char === '?') return normalized('/a', 'b');
    return normalized(`/a${char}b`);
  }

  test.each(byteValues.map((byte) => ({ byte, name: `0x${hex(byte)}` })))('$name', ({ byte }) => {
    const char = String.fromCharCode(byte);
    const expected = expectedFor(char);
    const result = normalizePath(`/a${char}b`);
    if (expected === undefined) {
      expect(result).toEqual({ ok: false, reason: expect.any(String) });
    } else {
      expect(result).toEqual(expected);
    }
  });
});

describe('normalizePath: every byte value percent-encoded in a segment', () => {
  const unreserved = /^[A-Za-z0-9\-._~]$/;
  const refusedEscapes = new Map([
    [0x00, 'path contains NUL'],
    [0x2f, 'path contains an encoded "/"'],
    [0x5c, 'path contains an encoded backslash'],
    [0x3b, 'path contains an encoded ";"'],
  ]);

  function expectedFor(byte: number): Result<NormalizedPath> {
    const reason = refusedEscapes.get(byte);
    if (reason !== undefined) return refused(reason);
    const char = String.fromCharCode(byte);
    return normalized(unreserved.test(char) ? `/a${char}b` : `/a%${hex(byte)}b`);
  }

  const escapes = byteValues.flatMap((byte) => [
    { byte, escape: `%${hex(byte)}`, name: `%${hex(byte)}` },
    { byte, escape: `%${hex(byte).toLowerCase()}`, name: `%${hex(byte).toLowerCase()} (lower-case hex)` },
  ]);

  test.each(escapes)('$name', ({ byte, escape }) => {
    expect(normalizePath(`/a${escape}b`)).toEqual(expectedFor(byte));
  });
});

// Issue #14, the `..;/` class: Tomcat, Jetty and Spring cut `;…` off every segment before they
// resolve dot segments, so a prefix test on the raw path judged another resource than they serve.
describe('normalizePath: path parameters', () => {
  const cases = [
    { name: 'a parameter inside a protected prefix', rawPath: '/docs/internal;x=1/secret', strip: normalized('/docs/internal/secret') },
    { name: 'dot-dot with a parameter climbing into it', rawPath: '/docs/x/..;/internal/secret', strip: normalized('/docs/internal/secret') },
    { name: 'dot-dot with a parameter leaving a prefix', rawPath: '/api/orders/..;/admin', strip: normalized('/api/admin') },
    { name: 'a session id', rawPath: '/api/orders/1;jsessionid=ABC123', strip: normalized('/api/orders/1') },
    { name: 'a parameter on every segment', rawPath: '/a;p/b;q=1;r/c;', strip: normalized('/a/b/c') },
    { name: 'an encoded dot-dot with a parameter', rawPath: '/api/x/%2e%2e;y/admin', strip: normalized('/api/admin') },
    { name: 'a dot with a parameter', rawPath: '/api/.;x/orders', strip: normalized('/api/orders') },
    { name: 'a parameter before the query', rawPath: '/api/orders;v=2?id=1', strip: normalized('/api/orders', 'id=1') },
    { name: 'a bare semicolon', rawPath: '/;', strip: normalized('/') },
    { name: 'an encoded semicolon', rawPath: '/api/..%3b/admin', strip: refused('path contains an encoded ";"') },
    { name: 'an encoded semicolon, lower case', rawPath: '/api/x%3Bv=1/orders', strip: refused('path contains an encoded ";"') },
  ];

  test.each(cases)('reject (the default): $name is refused without echoing the parameter', ({ rawPath, strip }) => {
    const result = normalizePath(rawPath);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toBe(strip.ok ? 'path has a ";" parameter (request.pathParameters: reject)' : strip.reason);
    expect(result.reason).not.toMatch(/jsessionid|ABC123|x=1/);
  });

  test.each(cases)('strip: $name', ({ rawPath, strip }) => {
    expect(normalizePath(rawPath, 'strip')).toEqual(strip);
  });

  test('a semicolon in the query is not a path parameter', () => {
    expect(normalizePath('/api?a=1;b=2')).toEqual(normalized('/api', 'a=1;b=2'));
  });
});

describe('the shortcut for plain paths', () => {
  // Every character class the normalization treats apart, dots and slashes often, so that dot
  // segments, doubled slashes and dots inside segments all turn up.
  const alphabet = ['a', 'Z', '0', '-', '_', '~', '.', '.', '/', '/', '!', '$', '&', "'", '(', '*', '+', ',', '=', ':', '@', ';', '%2e', '%41', '%2F', '\\'];

  test('gives exactly what full normalization gives, for every generated path', () => {
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let plain = 0;
    for (let i = 0; i < 20_000; i++) {
      let path = '/';
      const length = Math.floor(next() * 12);
      for (let j = 0; j < length; j++) path += alphabet[Math.floor(next() * alphabet.length)];
      for (const parameters of ['reject', 'strip'] as const) {
        const full = resolvePath(path, parameters);
        const normalized = normalizePath(path, parameters);
        expect(normalized.ok ? { ok: true, value: normalized.value.path } : normalized).toEqual(full);
      }
      if (!/[%;\\]/.test(path) && !path.includes('/.')) plain += 1;
    }
    // Both kinds were generated: paths the shortcut takes, and paths it must leave alone.
    expect(plain).toBeGreaterThan(2_000);
    expect(plain).toBeLessThan(18_000);
  });
});
