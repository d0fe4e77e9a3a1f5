import { errorMessage } from '../errors.js';

/**
 * An error as one line for logs and readiness, with the network cause (ECONNREFUSED, …) that
 * undici keeps in `cause` and the HTTP status client-node puts on watch errors. Duck-typed, not
 * `instanceof`: errors from node:net and undici may come from another realm.
 */
export function describe(err: unknown): string {
  const { statusCode, cause } = (typeof err === 'object' && err !== null ? err : {}) as { statusCode?: unknown; cause?: unknown };
  const status = statusCode === undefined ? '' : ` (HTTP ${String(statusCode)})`;
  return `${errorMessage(err)}${status}${causeOf(cause)}`.slice(0, 300);
}

function causeOf(cause: unknown): string {
  if (typeof cause !== 'object' || cause === null) return '';
  const { code, message } = cause as { code?: unknown; message?: unknown };
  if (typeof code === 'string') return `: ${code}`;
  return typeof message === 'string' ? `: ${message}` : '';
}
