/**
 * RememberedResults answers each value with its own result, however values alternate: the last
 * value's shortcut and the map behind it never hand one value another's identity, and a refused
 * value is worked out again every time (never remembered).
 */
import type { AuthnResult } from '../../src/core/identity.js';
import { RememberedResults } from '../../src/identity/remembered-results.js';

const accepted = (name: string): AuthnResult => ({ ok: true, identity: { kind: 'user', name, issuer: 'i', subject: name, groups: [], authn: 'jwt' } as never });
const refused: AuthnResult = { ok: false, code: 'malformed_xfcc', detail: 'bad', authn: 'mtls' };

test('each value gets its own result, in any order, each worked out once', () => {
  const results = new RememberedResults();
  const resolved: string[] = [];
  const resolve = (value: string): AuthnResult => {
    resolved.push(value);
    return accepted(value);
  };
  // Equal strings built apart, so the shortcut compares contents, not the same object.
  const order = ['a', 'a', 'b', 'a', 'b', 'b', 'c', 'a', ['a', 'a'].join('').slice(1)];
  for (const value of order) {
    const result = results.of(value, resolve);
    expect(result.ok && result.identity.kind === 'user' && result.identity.name).toBe(value);
  }
  expect(resolved).toEqual(['a', 'b', 'c']);
});

test('a refused value is not remembered, and does not displace the one before', () => {
  const results = new RememberedResults();
  let calls = 0;
  const resolve = (value: string): AuthnResult => {
    calls += 1;
    return value === 'bad' ? refused : accepted(value);
  };
  results.of('good', resolve);
  expect(results.of('bad', resolve)).toBe(refused);
  expect(results.of('bad', resolve)).toBe(refused);
  expect(results.of('good', resolve).ok).toBe(true);
  expect(calls).toBe(3);
});

test('past its bound it starts again, still answering every value with its own result', () => {
  const results = new RememberedResults();
  for (let i = 0; i < 25_000; i++) {
    const value = `v${i % 12_000}`;
    const result = results.of(value, accepted);
    expect(result.ok && result.identity.kind === 'user' && result.identity.name).toBe(value);
  }
});
