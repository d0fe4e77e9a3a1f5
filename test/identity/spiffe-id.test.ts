import { SpiffeId } from '../../src/core/spiffe-id.js';
import type { Result } from '../../src/core/result.js';
import { spiffeId as parse } from '../support/expect-ok.js';

type View = { ok: true; id: string; trustDomain: string; path: string } | { ok: false; reason: string };

function view(result: Result<SpiffeId>): View {
  if (!result.ok) return result;
  const { trustDomain, path } = result.value;
  return { ok: true, id: result.value.toString(), trustDomain, path };
}

function valid(id: string, trustDomain: string, path: string): View {
  return { ok: true, id, trustDomain, path };
}

function invalid(reason: string): View {
  return { ok: false, reason };
}


const byteValues = Array.from({ length: 256 }, (_, byte) => byte);
const hex = (byte: number): string => byte.toString(16).padStart(2, '0');

describe('SpiffeId.parse', () => {
  const cases: { name: string; input: string; expected: View }[] = [
    { name: 'trust domain only', input: 'spiffe://example.org', expected: valid('spiffe://example.org', 'example.org', '') },
    { name: 'one segment', input: 'spiffe://example.org/workload', expected: valid('spiffe://example.org/workload', 'example.org', '/workload') },
    {
      name: 'Kubernetes service account',
      input: 'spiffe://cluster.local/ns/shop/sa/orders',
      expected: valid('spiffe://cluster.local/ns/shop/sa/orders', 'cluster.local', '/ns/shop/sa/orders'),
    },
    { name: 'every allowed trust domain character', input: 'spiffe://a-b_c.0123456789', expected: valid('spiffe://a-b_c.0123456789', 'a-b_c.0123456789', '') },
    { name: 'every allowed path character', input: 'spiffe://td/aZ09._-', expected: valid('spiffe://td/aZ09._-', 'td', '/aZ09._-') },
    { name: 'segment of three dots is not a dot segment', input: 'spiffe://td/...', expected: valid('spiffe://td/...', 'td', '/...') },
    { name: 'segment starting with a dot', input: 'spiffe://td/.hidden', expected: valid('spiffe://td/.hidden', 'td', '/.hidden') },
    { name: 'upper-case scheme (issue #14: accepted without a certificate, refused with one)', input: 'SPIFFE://example.org/a', expected: invalid('SPIFFE ID must start with spiffe://') },
    { name: 'mixed-case scheme', input: 'SpIfFe://example.org', expected: invalid('SPIFFE ID must start with spiffe://') },
    { name: 'one upper-case scheme letter', input: 'spiffE://example.org/a', expected: invalid('SPIFFE ID must start with spiffe://') },
    { name: 'IP address as trust domain', input: 'spiffe://10.0.0.1/a', expected: valid('spiffe://10.0.0.1/a', '10.0.0.1', '/a') },

    { name: 'empty input', input: '', expected: invalid('SPIFFE ID is empty') },
    { name: 'other scheme', input: 'https://example.org/a', expected: invalid('SPIFFE ID must start with spiffe://') },
    { name: 'no scheme', input: 'example.org/a', expected: invalid('SPIFFE ID must start with spiffe://') },
    { name: 'scheme without slashes', input: 'spiffe:example.org', expected: invalid('SPIFFE ID must start with spiffe://') },
    { name: 'scheme with one slash', input: 'spiffe:/example.org', expected: invalid('SPIFFE ID must start with spiffe://') },
    { name: 'scheme with leading space', input: ' spiffe://example.org', expected: invalid('SPIFFE ID must start with spiffe://') },
    { name: 'long s (U+017F) does not fold to s', input: '\u017Fpiffe://example.org', expected: invalid('SPIFFE ID must start with spiffe://') },
    { name: 'dotted capital I (U+0130) does not fold to i', input: 'sp\u0130ffe://example.org', expected: invalid('SPIFFE ID must start with spiffe://') },
    { name: 'scheme only', input: 'spiffe://', expected: invalid('trust domain is missing') },
    { name: 'path without trust domain', input: 'spiffe:///path', expected: invalid('trust domain is missing') },
    { name: 'upper-case trust domain', input: 'spiffe://Example.org', expected: invalid('trust domain must be lower case') },
    { name: 'port', input: 'spiffe://example.org:8080/a', expected: invalid('trust domain must not have a port') },
    { name: 'user info', input: 'spiffe://user@example.org/a', expected: invalid('trust domain must not have user info') },
    { name: 'user and password', input: 'spiffe://user:pass@example.org', expected: invalid('trust domain must not have user info') },
    { name: 'percent-encoded trust domain', input: 'spiffe://exa%6dple.org', expected: invalid('trust domain must not be percent-encoded') },
    { name: 'IPv6 literal', input: 'spiffe://[::1]/a', expected: invalid('trust domain contains an invalid character') },
    { name: 'non-ASCII trust domain', input: 'spiffe://ex\u00e4mple.org', expected: invalid('trust domain contains an invalid character') },
    { name: 'query', input: 'spiffe://example.org/a?x=1', expected: invalid('SPIFFE ID must not have a query') },
    { name: 'empty query', input: 'spiffe://example.org/a?', expected: invalid('SPIFFE ID must not have a query') },
    { name: 'query on trust domain', input: 'spiffe://example.org?x', expected: invalid('SPIFFE ID must not have a query') },
    { name: 'fragment', input: 'spiffe://example.org/a#frag', expected: invalid('SPIFFE ID must not have a fragment') },
    { name: 'fragment before a question mark', input: 'spiffe://example.org/a#b?c', expected: invalid('SPIFFE ID must not have a fragment') },
    { name: 'root path', input: 'spiffe://example.org/', expected: invalid('path has a trailing slash') },
    { name: 'trailing slash', input: 'spiffe://example.org/a/', expected: invalid('path has a trailing slash') },
    { name: 'double slash after trust domain', input: 'spiffe://example.org//a', expected: invalid('path has an empty segment') },
    { name: 'double slash inside path', input: 'spiffe://example.org/a//b', expected: invalid('path has an empty segment') },
    { name: 'dot segment', input: 'spiffe://example.org/./a', expected: invalid('path has a dot segment') },
    { name: 'dot-dot segment', input: 'spiffe://example.org/a/../b', expected: invalid('path has a dot segment') },
    { name: 'final dot-dot segment', input: 'spiffe://example.org/a/..', expected: invalid('path has a dot segment') },
    { name: 'percent-encoded path', input: 'spiffe://example.org/a%2Fb', expected: invalid('path must not be percent-encoded') },
    { name: 'space in path', input: 'spiffe://example.org/a b', expected: invalid('path segment contains an invalid character') },
    { name: 'colon in path', input: 'spiffe://example.org/a:b', expected: invalid('path segment contains an invalid character') },
    { name: 'backslash in path', input: 'spiffe://example.org/a\\b', expected: invalid('path segment contains an invalid character') },
    { name: 'non-ASCII path', input: 'spiffe://example.org/caf\u00e9', expected: invalid('path segment contains an invalid character') },
    { name: 'astral character in path', input: 'spiffe://example.org/\u{1F600}', expected: invalid('path segment contains an invalid character') },
  ];

  test.each(cases)('$name', ({ input, expected }) => {
    expect(view(SpiffeId.parse(input))).toEqual(expected);
  });
});

describe('SpiffeId.parse: every byte value', () => {
  const trustDomainChar = /^[a-z0-9._-]$/;
  const pathChar = /^[a-zA-Z0-9._-]$/;

  // Issue #14: a case-folded scheme was accepted as a principal and refused in a certificate.
  const scheme = 'spiffe://';
  test.each([...scheme].flatMap((_, at) => byteValues.map((byte) => ({ at, byte, name: `0x${hex(byte)} at scheme position ${at}` }))))('$name', ({ at, byte }) => {
    const char = String.fromCharCode(byte);
    const input = `${scheme.slice(0, at)}${char}${scheme.slice(at + 1)}td/a`;
    const expected = char === scheme[at] ? valid('spiffe://td/a', 'td', '/a') : expect.objectContaining({ ok: false });
    expect(view(SpiffeId.parse(input))).toEqual(expected);
  });

  test.each(byteValues.map((byte) => ({ byte, name: `0x${hex(byte)} in the trust domain` })))('$name', ({ byte }) => {
    const char = String.fromCharCode(byte);
    const result = SpiffeId.parse(`spiffe://a${char}`);
    const expected = trustDomainChar.test(char) ? valid(`spiffe://a${char}`, `a${char}`, '') : expect.objectContaining({ ok: false });
    expect(view(result)).toEqual(expected);
  });

  test.each(byteValues.map((byte) => ({ byte, name: `0x${hex(byte)} in a path segment` })))('$name', ({ byte }) => {
    const char = String.fromCharCode(byte);
    const result = SpiffeId.parse(`spiffe://td/x/a${char}`);
    const expected = pathChar.test(char) ? valid(`spiffe://td/x/a${char}`, 'td', `/x/a${char}`) : expect.objectContaining({ ok: false });
    expect(view(result)).toEqual(expected);
  });
});

describe('SpiffeId.parse: length limits', () => {
  const scheme = 'spiffe://';
  const cases: { name: string; input: string; expected: View }[] = [
    { name: 'trust domain of 255 bytes', input: `${scheme}${'a'.repeat(255)}`, expected: valid(`${scheme}${'a'.repeat(255)}`, 'a'.repeat(255), '') },
    { name: 'trust domain of 256 bytes', input: `${scheme}${'a'.repeat(256)}`, expected: invalid('trust domain is longer than 255 bytes') },
    {
      name: 'ID of 2048 bytes',
      input: `${scheme}td/${'p'.repeat(2048 - scheme.length - 3)}`,
      expected: valid(`${scheme}td/${'p'.repeat(2036)}`, 'td', `/${'p'.repeat(2036)}`),
    },
    { name: 'ID of 2049 bytes', input: `${scheme}td/${'p'.repeat(2049 - scheme.length - 3)}`, expected: invalid('SPIFFE ID is longer than 2048 bytes') },
    { name: 'megabyte of input', input: `${scheme}td/${'p'.repeat(1 << 20)}`, expected: invalid('SPIFFE ID is longer than 2048 bytes') },
  ];

  test.each(cases)('$name', ({ input, expected }) => {
    expect(view(SpiffeId.parse(input))).toEqual(expected);
  });
});

describe('SpiffeId.forServiceAccount', () => {
  const cases: { name: string; args: [string, string, string]; expected: View }[] = [
    {
      name: 'Istio default trust domain',
      args: ['cluster.local', 'shop', 'orders'],
      expected: valid('spiffe://cluster.local/ns/shop/sa/orders', 'cluster.local', '/ns/shop/sa/orders'),
    },
    {
      name: 'service account with a dot',
      args: ['example.org', 'kube-system', 'coredns.v1'],
      expected: valid('spiffe://example.org/ns/kube-system/sa/coredns.v1', 'example.org', '/ns/kube-system/sa/coredns.v1'),
    },
    { name: 'empty trust domain', args: ['', 'shop', 'orders'], expected: invalid('trust domain is missing') },
    { name: 'upper-case trust domain', args: ['Cluster.local', 'shop', 'orders'], expected: invalid('trust domain must be lower case') },
    { name: 'trust domain with a path', args: ['td/ns/evil/sa/x', 'shop', 'orders'], expected: invalid('trust domain contains an invalid character') },
    { name: 'trust domain with a query', args: ['td?', 'shop', 'orders'], expected: invalid('trust domain contains an invalid character') },
    {
      name: 'empty namespace',
      args: ['td', '', 'orders'],
      expected: invalid('namespace is not a valid SPIFFE path segment: path has an empty segment'),
    },
    {
      name: 'namespace smuggling segments',
      args: ['td', 'evil/sa/admin/ns/shop', 'orders'],
      expected: invalid('namespace is not a valid SPIFFE path segment: path segment contains an invalid character'),
    },
    {
      name: 'dot-dot namespace',
      args: ['td', '..', 'orders'],
      expected: invalid('namespace is not a valid SPIFFE path segment: path has a dot segment'),
    },
    {
      name: 'service account with a slash',
      args: ['td', 'shop', 'orders/x'],
      expected: invalid('service account is not a valid SPIFFE path segment: path segment contains an invalid character'),
    },
    {
      name: 'service account with a colon',
      args: ['td', 'shop', 'system:admin'],
      expected: invalid('service account is not a valid SPIFFE path segment: path segment contains an invalid character'),
    },
    {
      name: 'result over 2048 bytes',
      args: ['td', 'shop', 'a'.repeat(2048)],
      expected: invalid('SPIFFE ID is longer than 2048 bytes'),
    },
  ];

  test.each(cases)('$name', ({ args, expected }) => {
    expect(view(SpiffeId.forServiceAccount(...args))).toEqual(expected);
  });

  test('names the same workload as the parsed mTLS principal', () => {
    const built = SpiffeId.forServiceAccount('cluster.local', 'shop', 'orders');
    expect(built.ok && built.value.equals(parse('spiffe://cluster.local/ns/shop/sa/orders'))).toBe(true);
  });
});

describe('SpiffeId.kubernetesParts', () => {
  const cases: { name: string; id: string; expected: { namespace: string; serviceAccount: string } | undefined }[] = [
    { name: 'Kubernetes form', id: 'spiffe://cluster.local/ns/shop/sa/orders', expected: { namespace: 'shop', serviceAccount: 'orders' } },
    { name: 'namespace and account named ns and sa', id: 'spiffe://td/ns/sa/sa/ns', expected: { namespace: 'sa', serviceAccount: 'ns' } },
    { name: 'no path', id: 'spiffe://cluster.local', expected: undefined },
    { name: 'too few segments', id: 'spiffe://td/ns/shop/sa', expected: undefined },
    { name: 'extra segment', id: 'spiffe://td/ns/shop/sa/orders/extra', expected: undefined },
    { name: 'prefix segment', id: 'spiffe://td/x/ns/shop/sa/orders', expected: undefined },
    { name: 'upper-case NS', id: 'spiffe://td/NS/shop/sa/orders', expected: undefined },
    { name: 'upper-case SA', id: 'spiffe://td/ns/shop/SA/orders', expected: undefined },
    { name: 'swapped markers', id: 'spiffe://td/sa/orders/ns/shop', expected: undefined },
    { name: 'SPIRE agent form', id: 'spiffe://td/spire/agent/k8s_psat/cluster/node', expected: undefined },
  ];

  test.each(cases)('$name', ({ id, expected }) => {
    expect(parse(id).kubernetesParts()).toEqual(expected);
  });
});

describe('SpiffeId.equals', () => {
  const cases: { name: string; left: string; right: string; expected: boolean }[] = [
    { name: 'same ID', left: 'spiffe://td/a/b', right: 'spiffe://td/a/b', expected: true },
    { name: 'different trust domain', left: 'spiffe://td/a', right: 'spiffe://td2/a', expected: false },
    { name: 'different path', left: 'spiffe://td/a', right: 'spiffe://td/b', expected: false },
    { name: 'path case matters', left: 'spiffe://td/a', right: 'spiffe://td/A', expected: false },
    { name: 'path against none', left: 'spiffe://td/a', right: 'spiffe://td', expected: false },
    { name: 'prefix is not equal', left: 'spiffe://td/a', right: 'spiffe://td/a/b', expected: false },
  ];

  test.each(cases)('$name', ({ left, right, expected }) => {
    expect(parse(left).equals(parse(right))).toBe(expected);
    expect(parse(right).equals(parse(left))).toBe(expected);
  });
});

describe('SpiffeId immutability', () => {
  test('a parsed ID cannot be changed', () => {
    const id = parse('spiffe://td/a');
    expect(Object.isFrozen(id)).toBe(true);
    expect(() => Object.assign(id, { trustDomain: 'evil' })).toThrow(TypeError);
  });
});
