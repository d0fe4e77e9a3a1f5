import { parseConfig, workloadTrustDomain, type ConfigOverrides } from '../src/config.js';
import { GatehouseError } from '../src/errors.js';

function problem(input: unknown): string {
  try {
    parseConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(GatehouseError);
    return (err as Error).message;
  }
  throw new Error('expected the config to be refused');
}

describe('config', () => {
  test('an empty file gives the documented defaults', () => {
    const config = parseConfig(undefined);
    expect(config.listen).toBe('0.0.0.0:9191');
    expect(config.httpListen).toBe('0.0.0.0:9192');
    expect(config.policies).toBe('./policies');
    expect(config.mode).toBe('enforce');
    expect(config.identity.trustDomains).toEqual(['cluster.local']);
    expect(config.identity.trustForwardedClientCert).toBe(false);
    expect(config.response.principalHeader).toBe('x-gatehouse-principal');
    expect(config.kubernetes.failClosed).toBe(true);
    expect(config.limits.maxMessageBytes).toBe(4 * 1024 * 1024);
    expect(config.limits.maxTokenBytes).toBe(16 * 1024);
  });

  describe('httpAuthz', () => {
    test('defaults: off, on 0.0.0.0:9193, /envoy, no trusted proxies', () => {
      expect(parseConfig(undefined).httpAuthz).toEqual({ enabled: false, listen: '0.0.0.0:9193', envoyPathPrefix: '/envoy', trustedProxies: [] });
    });

    test.each([
      ['IPv4 and IPv6 subnets and single addresses', ['10.0.0.0/8', '192.0.2.7', 'fd00::/8', '::1']],
      ['everything', ['0.0.0.0/0', '::/0']],
    ])('trustedProxies accepts %s', (_name, trustedProxies) => {
      expect(parseConfig({ httpAuthz: { trustedProxies } }).httpAuthz.trustedProxies).toEqual(trustedProxies);
    });

    test.each([
      ['a host name', { trustedProxies: ['proxy.local'] }, 'config: httpAuthz.trustedProxies.0: "proxy.local" is not an IP address or CIDR'],
      ['an IPv4 prefix over 32', { trustedProxies: ['10.0.0.0/33'] }, 'config: httpAuthz.trustedProxies.0: "10.0.0.0/33": the prefix length must be 0 to 32'],
      ['an empty prefix', { trustedProxies: ['10.0.0.0/'] }, 'config: httpAuthz.trustedProxies.0: "10.0.0.0/": the prefix length must be 0 to 32'],
      ['a trailing slash on the prefix', { envoyPathPrefix: '/envoy/' }, 'config: httpAuthz.envoyPathPrefix: expected a path'],
      ['the forward-auth path as prefix', { envoyPathPrefix: '/forward-auth' }, 'config: httpAuthz.envoyPathPrefix: must not be /forward-auth or contain it'],
      ['a bad listen address', { listen: 'nowhere' }, 'config: httpAuthz.listen: expected HOST:PORT'],
    ])('refuses %s, naming the key', (_name, httpAuthz, message) => {
      expect(problem({ httpAuthz })).toContain(message);
    });
  });

  test('the config is frozen all the way down', () => {
    const config = parseConfig({ identity: { trustDomains: ['a.example'] } });
    expect(Object.isFrozen(config.identity.trustDomains)).toBe(true);
    expect(() => (config.identity.trustDomains as unknown as string[]).push('x')).toThrow(TypeError);
  });

  test.each([
    ['an unknown top-level key', { listne: '0.0.0.0:1' }, 'listne'],
    ['an unknown nested key', { identity: { trustDomain: ['x'] } }, 'identity.trustDomain'],
    ['a bad mode', { mode: 'maybe' }, 'mode'],
    ['a bad listen address', { listen: 'nope' }, 'listen'],
    ['a jwt issuer with no key source', { identity: { jwt: [{ issuer: 'https://i', kind: 'oidc', audiences: ['a'] }] } }, 'identity.jwt.0'],
    ['a jwt issuer with two key sources', { identity: { jwt: [{ issuer: 'https://i', kind: 'oidc', audiences: ['a'], jwksFile: '/k', discovery: true }] } }, 'identity.jwt.0'],
    ['an HMAC algorithm', { identity: { jwt: [{ issuer: 'https://i', kind: 'oidc', audiences: ['a'], jwksFile: '/k', algorithms: ['HS256'] }] } }, 'identity.jwt.0.algorithms.0'],
    ['an issuer trust domain that is not trusted', { identity: { jwt: [{ issuer: 'https://i', kind: 'spiffe', audiences: ['a'], jwksFile: '/k', trustDomain: 'other.example' }] } }, 'identity.jwt.0.trustDomain'],
    ['a negative limit', { limits: { maxHeaders: -1 } }, 'limits.maxHeaders'],
    // Trust domains are parsed as SPIFFE IDs parse theirs, or a configured one could never match.
    ['an upper-case trust domain', { identity: { trustDomains: ['Cluster.local'] } }, 'identity.trustDomains.0: trust domain must be lower case'],
    ['a trust domain with a port', { identity: { trustDomains: ['cluster.local:8443'] } }, 'identity.trustDomains.0: trust domain must not have a port'],
    ['an empty trust domain', { identity: { trustDomains: [''] } }, 'identity.trustDomains.0: trust domain is missing'],
    ['a trust domain written as an ID', { identity: { trustDomains: ['spiffe://cluster.local'] } }, 'identity.trustDomains.0'],
    ['an issuer trust domain with user info', { identity: { jwt: [{ issuer: 'https://i', kind: 'spiffe', audiences: ['a'], jwksFile: '/k', trustDomain: 'u@cluster.local' }] } }, 'identity.jwt.0.trustDomain: trust domain must not have user info'],
  ])('%s is refused with a message naming the key', (_name, input, key) => {
    expect(problem(input)).toContain(key);
  });

  test('every problem is reported at once', () => {
    const message = problem({ mode: 'maybe', listen: 'nope' });
    expect(message).toContain('mode');
    expect(message).toContain('listen');
  });

  test('flags override the file', () => {
    const config = parseConfig({ listen: '0.0.0.0:1' }, { listen: '127.0.0.1:2', policies: '/p' });
    expect(config.listen).toBe('127.0.0.1:2');
    expect(config.policies).toBe('/p');
  });

  describe('workers and memoryBudgetMiB', () => {
    test('both unset by default: serve plans them from the CPU and memory limits', () => {
      const config = parseConfig(undefined);
      expect(config.workers).toBeUndefined();
      expect(config.memoryBudgetMiB).toBeUndefined();
    });

    test('set, they are kept; the --workers flag overrides the file', () => {
      const config = parseConfig({ workers: 3, memoryBudgetMiB: 1024 }, { workers: 2 });
      expect(config.workers).toBe(2);
      expect(config.memoryBudgetMiB).toBe(1024);
    });

    test.each<[string, Record<string, unknown>, string, ConfigOverrides?]>([
      ['below 128', { memoryBudgetMiB: 64 }, 'memoryBudgetMiB'],
      ['a fraction', { memoryBudgetMiB: 400.5 }, 'memoryBudgetMiB'],
      ['a string with a unit', { memoryBudgetMiB: '400Mi' }, 'memoryBudgetMiB'],
      ['no workers', { workers: 0 }, 'workers'],
      ['a --workers flag that is not a number', {}, 'workers', { workers: Number('two') }],
    ])('refused: %s, naming the key', (_name, input, key, overrides = {}) => {
      let message = '';
      try {
        parseConfig(input, overrides);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(new RegExp(`^config: ${key}: `, 'm'));
    });
  });
});

/** Issue #14, "Stay exact in real estates": no issuer may mint an identity that belongs to another. */
describe('config: telemetry', () => {
  test('defaults: off, service gatehouse, logs and traces when on, every root trace kept', () => {
    expect(parseConfig(undefined).telemetry).toEqual({ serviceName: 'gatehouse', otlp: { endpoint: '', logs: true, traces: true, sampler: 'parentbased_traceidratio', sampleRatio: 1 } });
  });

  test.each(['http://otel-collector:4318', 'https://otel.example.com/otlp', 'http://[::1]:4318'])('endpoint %s is accepted', (endpoint) => {
    expect(parseConfig({ telemetry: { otlp: { endpoint } } }).telemetry.otlp.endpoint).toBe(endpoint);
  });

  test.each([
    ['a word', { otlp: { endpoint: 'collector' } }, 'config: telemetry.otlp.endpoint: expected an http:// or https:// URL, or empty for off'],
    ['gRPC scheme', { otlp: { endpoint: 'grpc://collector:4317' } }, 'config: telemetry.otlp.endpoint: expected an http:// or https:// URL'],
    ['a query', { otlp: { endpoint: 'http://collector:4318/?a=1' } }, 'config: telemetry.otlp.endpoint: expected a base URL without query or fragment'],
    ['credentials', { otlp: { endpoint: 'http://user:secret@collector:4318' } }, 'config: telemetry.otlp.endpoint: expected no credentials in the URL'],
    ['a ratio above 1', { otlp: { sampleRatio: 1.5 } }, 'config: telemetry.otlp.sampleRatio:'],
    ['a negative ratio', { otlp: { sampleRatio: -0.1 } }, 'config: telemetry.otlp.sampleRatio:'],
    ['an unknown sampler', { otlp: { sampler: 'always_on' } }, 'config: telemetry.otlp.sampler: Invalid option: expected one of "parentbased_traceidratio"|"traceidratio"'],
    ['logs not a boolean', { otlp: { logs: 'yes' } }, 'config: telemetry.otlp.logs:'],
    ['an empty service name', { serviceName: '' }, 'config: telemetry.serviceName:'],
    ['an unknown key', { otlp: { protocol: 'grpc' } }, 'telemetry.otlp.protocol'],
  ])('%s stops the start naming the key', (_name, telemetry, message) => {
    const said = problem({ telemetry });
    expect(said).toContain(message);
    expect(said).not.toContain('secret');
  });
});

describe('config: trust across issuers', () => {
  const issuer = (name: string, kind: string, extra: Record<string, unknown> = {}) => ({ issuer: `https://${name}`, kind, audiences: ['gatehouse'], jwksFile: '/k', ...extra });
  const twoDomains = ['cluster.local', 'east.example'];

  test.each([
    // An issuer's trust domain used to default to the first of identity.trustDomains.
    ['a spiffe issuer without trustDomain', { jwt: [issuer('spire', 'spiffe')] }, 'identity.jwt.0.trustDomain: is required for a spiffe issuer'],
    ['a kubernetes issuer without trustDomain among two trust domains', { trustDomains: twoDomains, jwt: [issuer('k8s', 'kubernetes')] }, 'identity.jwt.0.trustDomain: is required'],
    [
      'a second cluster without trustDomain',
      { trustDomains: twoDomains, jwt: [issuer('k8s', 'kubernetes', { trustDomain: 'cluster.local' }), issuer('east', 'kubernetes')] },
      'identity.jwt.1.trustDomain: is required',
    ],
    [
      'a kubernetes issuer without trustDomain beside a spiffe issuer',
      { jwt: [issuer('k8s', 'kubernetes'), issuer('spire', 'spiffe', { trustDomain: 'cluster.local' })] },
      'identity.jwt.0.trustDomain: is required',
    ],
    ['an oidc issuer with a trustDomain', { jwt: [issuer('idp', 'oidc', { trustDomain: 'cluster.local' })] }, 'identity.jwt.0.trustDomain: is for kubernetes and spiffe issuers'],
    ['a workload issuer with a userPrefix', { jwt: [issuer('k8s', 'kubernetes', { userPrefix: 'k8s:' })] }, 'identity.jwt.0.userPrefix: is for oidc issuers'],
    ['a workload issuer with a groupPrefix', { jwt: [issuer('k8s', 'kubernetes', { groupPrefix: 'k8s:' })] }, 'identity.jwt.0.groupPrefix: is for oidc issuers'],
    // People were not bound to their issuer: a partner's `sub: alice` was the company's alice.
    ['two oidc issuers, the second without userPrefix', { jwt: [issuer('corp', 'oidc', { userPrefix: 'corp:' }), issuer('partner', 'oidc')] }, 'identity.jwt.1.userPrefix: must be set'],
    ['two oidc issuers, the first without userPrefix', { jwt: [issuer('corp', 'oidc'), issuer('partner', 'oidc', { userPrefix: 'partner:' })] }, 'identity.jwt.0.userPrefix: must be set'],
    ['equal user prefixes', { jwt: [issuer('corp', 'oidc', { userPrefix: 'x:' }), issuer('partner', 'oidc', { userPrefix: 'x:' })] }, 'identity.jwt.1.userPrefix: "x:" overlaps a prefix of identity.jwt.0'],
    ['a user prefix extending another', { jwt: [issuer('corp', 'oidc', { userPrefix: 'corp:' }), issuer('partner', 'oidc', { userPrefix: 'corp:x' })] }, 'identity.jwt.1.userPrefix'],
    ['a user prefix starting another', { jwt: [issuer('corp', 'oidc', { userPrefix: 'corp:x' }), issuer('partner', 'oidc', { userPrefix: 'corp:' })] }, 'identity.jwt.1.userPrefix'],
    [
      "a group prefix equal to another issuer's user prefix",
      { jwt: [issuer('corp', 'oidc', { userPrefix: 'corp:' }), issuer('partner', 'oidc', { userPrefix: 'partner:', groupPrefix: 'corp:' })] },
      'identity.jwt.1.groupPrefix',
    ],
    [
      'an empty group prefix beside another issuer',
      { jwt: [issuer('corp', 'oidc', { userPrefix: 'corp:' }), issuer('partner', 'oidc', { userPrefix: 'partner:', groupPrefix: '' })] },
      'identity.jwt.1.groupPrefix: "" overlaps',
    ],
  ])('%s stops the start, naming the key', (_name, identity, message) => {
    expect(problem({ identity })).toContain(`config: ${message}`);
  });

  test.each([
    ['the only kubernetes issuer with one trust domain', { jwt: [issuer('k8s', 'kubernetes')] }],
    ['one oidc issuer without prefixes', { jwt: [issuer('idp', 'oidc'), issuer('k8s', 'kubernetes')] }],
    ['two oidc issuers with distinct prefixes', { jwt: [issuer('corp', 'oidc', { userPrefix: 'corp:' }), issuer('partner', 'oidc', { userPrefix: 'partner:', groupPrefix: 'partner-group:' })] }],
    [
      'two clusters and a partner SPIRE, each with its trust domain',
      {
        trustDomains: [...twoDomains, 'partner.example'],
        jwt: [
          issuer('k8s', 'kubernetes', { trustDomain: 'cluster.local' }),
          issuer('east', 'kubernetes', { trustDomain: 'east.example' }),
          issuer('spire', 'spiffe', { trustDomain: 'partner.example' }),
        ],
      },
    ],
  ])('%s is accepted', (_name, identity) => {
    expect(() => parseConfig({ identity })).not.toThrow();
  });

  test('every problem of every issuer is reported at once', () => {
    const message = problem({ identity: { trustDomains: twoDomains, jwt: [issuer('k8s', 'kubernetes'), issuer('corp', 'oidc'), issuer('partner', 'oidc')] } });
    expect(message.split('\n').sort()).toEqual([
      'config: identity.jwt.0.trustDomain: is required for a kubernetes issuer unless it is the only kubernetes or spiffe issuer and identity.trustDomains has one entry',
      'config: identity.jwt.1.userPrefix: must be set (non-empty) when two or more oidc issuers are configured',
      'config: identity.jwt.2.userPrefix: must be set (non-empty) when two or more oidc issuers are configured',
    ]);
  });

  test('the lone kubernetes issuer takes the one trust domain; a named one is kept', () => {
    const lone = parseConfig({ identity: { trustDomains: ['east.example'], jwt: [issuer('k8s', 'kubernetes')] } }).identity;
    expect(workloadTrustDomain(lone.jwt[0]!, lone)).toBe('east.example');
    const named = parseConfig({ identity: { trustDomains: twoDomains, jwt: [issuer('k8s', 'kubernetes', { trustDomain: 'east.example' })] } }).identity;
    expect(workloadTrustDomain(named.jwt[0]!, named)).toBe('east.example');
  });
});
