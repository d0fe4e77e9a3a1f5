import { parseXfcc, type XfccElement } from '../../src/identity/xfcc.js';
import type { Result } from '../../src/core/result.js';

function element(fields: Partial<XfccElement>): XfccElement {
  return { by: [], uri: [], dns: [], ...fields };
}

function parsed(...elements: XfccElement[]): Result<XfccElement[]> {
  return { ok: true, value: elements };
}

function refused(reason: string): Result<XfccElement[]> {
  return { ok: false, reason };
}

const frontendHash = '468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688';
const backendHash = '9ba61d6425303443c0748a02dd8de688468ed33be74eee6556d90c0149c1309e';
const testClientSubject = '/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client';

describe('parseXfcc: Envoy documentation examples', () => {
  const cases: { name: string; header: string; expected: Result<XfccElement[]> }[] = [
    {
      name: 'one client certificate with only a URI SAN',
      header: `By=http://frontend.lyft.com;Hash=${frontendHash};Subject="${testClientSubject}";URI=http://testclient.lyft.com`,
      expected: parsed(
        element({ by: ['http://frontend.lyft.com'], hash: frontendHash, subject: testClientSubject, uri: ['http://testclient.lyft.com'] }),
      ),
    },
    {
      name: 'two client certificates, the last added by the nearest proxy',
      header:
        `By=http://frontend.lyft.com;Hash=${frontendHash};URI=http://testclient.lyft.com,` +
        `By=http://backend.lyft.com;Hash=${backendHash};URI=http://frontend.lyft.com`,
      expected: parsed(
        element({ by: ['http://frontend.lyft.com'], hash: frontendHash, uri: ['http://testclient.lyft.com'] }),
        element({ by: ['http://backend.lyft.com'], hash: backendHash, uri: ['http://frontend.lyft.com'] }),
      ),
    },
    {
      name: 'one client certificate with URI and DNS SANs',
      header: `By=http://frontend.lyft.com;Hash=${frontendHash};Subject="${testClientSubject}";URI=http://testclient.lyft.com;DNS=lyft.com;DNS=www.lyft.com`,
      expected: parsed(
        element({
          by: ['http://frontend.lyft.com'],
          hash: frontendHash,
          subject: testClientSubject,
          uri: ['http://testclient.lyft.com'],
          dns: ['lyft.com', 'www.lyft.com'],
        }),
      ),
    },
  ];

  test.each(cases)('$name', ({ header, expected }) => {
    expect(parseXfcc(header)).toEqual(expected);
  });
});

describe('parseXfcc: values and keys', () => {
  const cases: { name: string; header: string; expected: Result<XfccElement[]> }[] = [
    {
      name: 'Istio sidecar with SPIFFE IDs',
      header: 'By=spiffe://cluster.local/ns/shop/sa/orders;Hash=abc;Subject="";URI=spiffe://cluster.local/ns/shop/sa/cart',
      expected: parsed(element({ by: ['spiffe://cluster.local/ns/shop/sa/orders'], hash: 'abc', subject: '', uri: ['spiffe://cluster.local/ns/shop/sa/cart'] })),
    },
    {
      name: 'quoted Subject with commas, semicolons and equals signs',
      header: 'Subject="CN=a,O=b;c=d";URI=spiffe://td/a',
      expected: parsed(element({ subject: 'CN=a,O=b;c=d', uri: ['spiffe://td/a'] })),
    },
    {
      name: 'escaped quotes inside a quoted value',
      header: 'Subject="CN=\\"quoted\\", O=x";Hash=h',
      expected: parsed(element({ subject: 'CN="quoted", O=x', hash: 'h' })),
    },
    {
      name: 'escaped quote at the end of a quoted value',
      header: 'Subject="CN=\\""',
      expected: parsed(element({ subject: 'CN="' })),
    },
    {
      name: 'backslash not before a quote is kept (RFC 2253 escape in a DN)',
      header: 'Subject="CN=a\\,b\\\\c"',
      expected: parsed(element({ subject: 'CN=a\\,b\\\\c' })),
    },
    { name: 'quoted empty value', header: 'Subject=""', expected: parsed(element({ subject: '' })) },
    { name: 'quoted URI', header: 'URI="spiffe://td/a"', expected: parsed(element({ uri: ['spiffe://td/a'] })) },
    {
      name: 'quoted Cert with URL-encoded PEM stays encoded',
      header: 'Hash=h;Cert="-----BEGIN%20CERTIFICATE-----%0AMIIB%0A-----END%20CERTIFICATE-----%0A"',
      expected: parsed(element({ hash: 'h', cert: '-----BEGIN%20CERTIFICATE-----%0AMIIB%0A-----END%20CERTIFICATE-----%0A' })),
    },
    { name: 'Chain', header: 'Chain="a%0Ab"', expected: parsed(element({ chain: 'a%0Ab' })) },
    {
      name: 'repeated URI in one element',
      header: 'URI=spiffe://td/a;URI=spiffe://td/b;URI=https://example.org',
      expected: parsed(element({ uri: ['spiffe://td/a', 'spiffe://td/b', 'https://example.org'] })),
    },
    { name: 'repeated DNS in one element', header: 'DNS=a.example;DNS=b.example', expected: parsed(element({ dns: ['a.example', 'b.example'] })) },
    {
      name: 'repeated By (proxy certificate with several URI SANs)',
      header: 'By=spiffe://td/proxy;By=https://proxy.example;Hash=h',
      expected: parsed(element({ by: ['spiffe://td/proxy', 'https://proxy.example'], hash: 'h' })),
    },
    {
      name: 'empty URI lists nothing (Envoy writes URI= for a certificate without URI SANs)',
      header: 'Hash=h;Subject="CN=x";URI=',
      expected: parsed(element({ hash: 'h', subject: 'CN=x' })),
    },
    { name: 'empty DNS and By list nothing', header: 'By=;DNS=', expected: parsed(element({})) },
    { name: 'empty Hash is kept', header: 'Hash=', expected: parsed(element({ hash: '' })) },
    {
      name: 'lower-case keys',
      header: 'by=spiffe://td/p;hash=h;cert="c";chain="ch";subject="s";uri=spiffe://td/a;dns=d',
      expected: parsed(element({ by: ['spiffe://td/p'], hash: 'h', cert: 'c', chain: 'ch', subject: 's', uri: ['spiffe://td/a'], dns: ['d'] })),
    },
    {
      name: 'upper-case keys',
      header: 'BY=spiffe://td/p;HASH=h;SUBJECT="s";URI=spiffe://td/a;DNS=d',
      expected: parsed(element({ by: ['spiffe://td/p'], hash: 'h', subject: 's', uri: ['spiffe://td/a'], dns: ['d'] })),
    },
    { name: 'mixed-case repeated keys collect together', header: 'Uri=spiffe://td/a;uRI=spiffe://td/b', expected: parsed(element({ uri: ['spiffe://td/a', 'spiffe://td/b'] })) },
    { name: 'values are case-sensitive', header: 'URI=spiffe://td/CaSe', expected: parsed(element({ uri: ['spiffe://td/CaSe'] })) },
    {
      name: 'unquoted URI containing "=" (Envoy does not quote URIs)',
      header: 'URI=https://example.org/a?b=c;Hash=h',
      expected: parsed(element({ uri: ['https://example.org/a?b=c'], hash: 'h' })),
    },
    { name: 'unknown key is ignored', header: 'Future=thing;URI=spiffe://td/a', expected: parsed(element({ uri: ['spiffe://td/a'] })) },
    { name: 'unknown quoted key value with separators is ignored', header: 'X-New="a,b;c";Hash=h', expected: parsed(element({ hash: 'h' })) },
    { name: 'element of only unknown keys', header: 'Future=1', expected: parsed(element({})) },
    { name: 'whitespace after a comma (headers joined by a proxy)', header: 'Hash=a, Hash=b', expected: parsed(element({ hash: 'a' }), element({ hash: 'b' })) },
    { name: 'whitespace after a semicolon', header: 'Hash=a;\tURI=spiffe://td/a', expected: parsed(element({ hash: 'a', uri: ['spiffe://td/a'] })) },
    { name: 'non-ASCII inside a quoted Subject', header: 'Subject="CN=Jos\u00e9"', expected: parsed(element({ subject: 'CN=Jos\u00e9' })) },
    {
      name: 'three hops, order kept',
      header: 'URI=spiffe://td/first,URI=spiffe://td/second,URI=spiffe://td/third',
      expected: parsed(element({ uri: ['spiffe://td/first'] }), element({ uri: ['spiffe://td/second'] }), element({ uri: ['spiffe://td/third'] })),
    },
  ];

  test.each(cases)('$name', ({ header, expected }) => {
    expect(parseXfcc(header)).toEqual(expected);
  });
});

describe('parseXfcc: malformed headers', () => {
  const cases: { name: string; header: string; expected: Result<XfccElement[]> }[] = [
    { name: 'empty header', header: '', expected: refused('x-forwarded-client-cert has an empty element or pair') },
    { name: 'only whitespace', header: '  ', expected: refused('x-forwarded-client-cert has an empty element or pair') },
    { name: 'empty element between commas', header: 'Hash=a,,Hash=b', expected: refused('x-forwarded-client-cert has an empty element or pair') },
    { name: 'trailing comma', header: 'Hash=a,', expected: refused('x-forwarded-client-cert has an empty element or pair') },
    { name: 'leading comma', header: ',Hash=a', expected: refused('x-forwarded-client-cert has an empty element or pair') },
    { name: 'trailing semicolon', header: 'Hash=a;', expected: refused('x-forwarded-client-cert has an empty element or pair') },
    { name: 'empty pair between semicolons', header: 'Hash=a;;URI=b', expected: refused('x-forwarded-client-cert has an empty element or pair') },
    { name: 'pair without "="', header: 'Hash', expected: refused('x-forwarded-client-cert has a pair without "="') },
    { name: 'pair without "=" after a good pair', header: 'Hash=a;URI', expected: refused('x-forwarded-client-cert has a pair without "="') },
    { name: 'pair without "=" in a later element', header: 'Hash=a,garbage', expected: refused('x-forwarded-client-cert has a pair without "="') },
    { name: 'empty key', header: '=value', expected: refused('x-forwarded-client-cert has a pair with an empty key') },
    { name: 'empty key after a semicolon', header: 'Hash=a;=b', expected: refused('x-forwarded-client-cert has a pair with an empty key') },
    { name: 'space inside a key', header: 'Ha sh=a', expected: refused('x-forwarded-client-cert has a key that is not a token') },
    { name: 'space before "="', header: 'Hash =a', expected: refused('x-forwarded-client-cert has a key that is not a token') },
    { name: 'quoted key', header: '"Hash"=a', expected: refused('x-forwarded-client-cert has a key that is not a token') },
    { name: 'unterminated quote', header: 'Subject="CN=a', expected: refused('x-forwarded-client-cert has an unterminated quoted value') },
    {
      name: 'unterminated quote swallowing later elements',
      header: 'Subject="CN=a;URI=spiffe://td/a,URI=spiffe://td/b',
      expected: refused('x-forwarded-client-cert has an unterminated quoted value'),
    },
    { name: 'quote closed only by an escape', header: 'Subject="CN=a\\"', expected: refused('x-forwarded-client-cert has an unterminated quoted value') },
    { name: 'text after a closing quote', header: 'Subject="a"b;Hash=h', expected: refused('x-forwarded-client-cert has text after a quoted value') },
    { name: 'space after a closing quote', header: 'Subject="a" ;Hash=h', expected: refused('x-forwarded-client-cert has text after a quoted value') },
    { name: 'quote inside an unquoted value', header: 'URI=spiffe://td/a"b', expected: refused('x-forwarded-client-cert has a double quote inside an unquoted value') },
    { name: 'quote opening mid-value', header: 'URI=a"b;c"', expected: refused('x-forwarded-client-cert has a double quote inside an unquoted value') },
    { name: 'duplicate Hash', header: 'Hash=a;Hash=b', expected: refused('x-forwarded-client-cert element has more than one hash') },
    { name: 'duplicate Subject in different case', header: 'Subject="a";SUBJECT="b"', expected: refused('x-forwarded-client-cert element has more than one subject') },
    { name: 'duplicate Cert', header: 'Cert="a";Cert="b"', expected: refused('x-forwarded-client-cert element has more than one cert') },
    { name: 'duplicate Chain', header: 'Chain="a";Chain="b"', expected: refused('x-forwarded-client-cert element has more than one chain') },
    { name: 'NUL', header: 'URI=spiffe://td/a\u0000', expected: refused('x-forwarded-client-cert contains a control character') },
    { name: 'CR LF (header injection)', header: 'Hash=a\r\nX-Evil: 1', expected: refused('x-forwarded-client-cert contains a control character') },
    { name: 'DEL', header: 'Hash=a\u007f', expected: refused('x-forwarded-client-cert contains a control character') },
    { name: 'control character inside quotes', header: 'Subject="a\u0001"', expected: refused('x-forwarded-client-cert contains a control character') },
  ];

  test.each(cases)('$name', ({ header, expected }) => {
    expect(parseXfcc(header)).toEqual(expected);
  });
});

describe('parseXfcc: bounds', () => {
  const hop = (n: number): string => `By=spiffe://td/proxy;Hash=${n};URI=spiffe://td/w${n}`;
  const hops = (count: number): string => Array.from({ length: count }, (_, n) => hop(n)).join(',');
  const exactLength = (length: number): string => {
    const prefix = 'Subject="';
    return `${prefix}${'x'.repeat(length - prefix.length - 1)}"`;
  };

  const cases: { name: string; header: string; expected: Result<XfccElement[]> | { ok: true; count: number } }[] = [
    { name: '64 elements', header: hops(64), expected: { ok: true, count: 64 } },
    { name: '65 elements', header: hops(65), expected: refused('x-forwarded-client-cert has more than 64 elements') },
    { name: '65 elements, the last one malformed', header: `${hops(64)},garbage`, expected: refused('x-forwarded-client-cert has more than 64 elements') },
    { name: 'header of exactly 64 KiB', header: exactLength(65536), expected: { ok: true, count: 1 } },
    { name: 'header of 64 KiB and one character', header: exactLength(65537), expected: refused('x-forwarded-client-cert is longer than 65536 characters') },
    { name: 'megabyte of commas', header: ','.repeat(1 << 20), expected: refused('x-forwarded-client-cert is longer than 65536 characters') },
  ];

  test.each(cases)('$name', ({ header, expected }) => {
    const result = parseXfcc(header);
    if ('count' in expected) {
      expect(result.ok && result.value.length).toBe(expected.count);
    } else {
      expect(result).toEqual(expected);
    }
  });

  test('64 elements keep their order', () => {
    const result = parseXfcc(hops(64));
    expect(result.ok && result.value.map((e) => e.uri[0])).toEqual(Array.from({ length: 64 }, (_, n) => `spiffe://td/w${n}`));
  });
});
