import type { DetailedError } from '@cedar-policy/cedar-wasm/nodejs';

/** Cedar's errors as one line, for answers that carry a single message. */
export function messages(errors: readonly DetailedError[]): string {
  return errors.map((error) => error.message).join('; ');
}
