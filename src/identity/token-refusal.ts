import { refusal, type AuthnRefusal } from '../core/identity.js';
import type { ErrorCode } from '../errors.js';

export type Refusal = AuthnRefusal;

/** One step of verifying a token: what it found, or the refusal that ends verification. */
export type Checked<T> = ({ readonly ok: true } & T) | Refusal;

/** A refused bearer token. */
export function refuse(code: ErrorCode, detail: string): Refusal {
  return refusal('jwt', code, detail);
}
