import type { Result } from '../../src/core/result.js';
import { SpiffeId } from '../../src/core/spiffe-id.js';

/** The value of a Result the test's own setup made; a failure is a broken fixture, named by its reason. */
export function expectOk<T, E>(result: Result<T, E>): T {
  if (!result.ok) throw new Error(`test setup: ${String(result.reason)}`);
  return result.value;
}

/** A SPIFFE ID from a fixture string. */
export function spiffeId(text: string): SpiffeId {
  return expectOk(SpiffeId.parse(text));
}
