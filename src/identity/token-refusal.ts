import type { AuthnResult } from '../core/identity.js';
import type { ErrorCode } from '../errors.js';

export type Refusal = Extract<AuthnResult, { ok: false }>;

/** A refused bearer token, with its stable code; `detail` is for the decision log only. */
export function refuse(code: ErrorCode, detail: string): Refusal {
  return { ok: false, code, detail, authn: 'jwt' };
}

/** `system:serviceaccount:NAMESPACE:NAME`, the subject of every Kubernetes service-account token. */
export const serviceAccountSubject = /^system:serviceaccount:([^:]+):([^:]+)$/;
