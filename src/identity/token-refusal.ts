import type { AuthnResult } from '../core/identity.js';
import type { ErrorCode } from '../errors.js';

export type Refusal = Extract<AuthnResult, { ok: false }>;

/** One step of verifying a token: what it found, or the refusal that ends verification. */
export type Checked<T> = ({ readonly ok: true } & T) | Refusal;

/** A refused bearer token, with its stable code; `detail` is for the decision log only. */
export function refuse(code: ErrorCode, detail: string): Refusal {
  return { ok: false, code, detail, authn: 'jwt' };
}
