import { parseConfig } from '../src/config.js';
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
});
