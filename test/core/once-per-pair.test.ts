import { OncePerPair } from '../../src/core/once-per-pair.js';

test('one value per (base, part) pair of frozen inputs; a new part makes a new value; unfrozen inputs are never kept', () => {
  const memo = new OncePerPair<object, unknown, object>();
  let made = 0;
  const make = () => ({ n: ++made });
  const base = Object.freeze({});
  const peer = Object.freeze({});
  const first = memo.of(base, peer, make);
  expect(memo.of(base, peer, make)).toBe(first);
  expect(memo.of(base, 'agent', make)).not.toBe(first);
  expect(memo.of(base, 'agent', make)).toBe(memo.of(base, 'agent', make));
  expect(memo.of(base, peer, make)).not.toBe(first); // one pair per base: the class replaced it
  expect(made).toBe(3);
  const unfrozen = {};
  expect(memo.of(unfrozen, 'agent', make)).not.toBe(memo.of(unfrozen, 'agent', make));
  const unfrozenPart = {};
  expect(memo.of(base, unfrozenPart, make)).not.toBe(memo.of(base, unfrozenPart, make));
  expect(memo.of(base, undefined, make)).toBe(memo.of(base, undefined, make));
});
