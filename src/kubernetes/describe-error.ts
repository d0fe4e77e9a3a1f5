/**
 * An error as one line for logs and readiness, with the network cause (ECONNREFUSED, …) that
 * undici keeps in `cause` and the HTTP status client-node puts on watch errors. Duck-typed, not
 * `instanceof`: errors from node:net and undici may come from another realm.
 */
export function describe(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err).slice(0, 300);
  const { message, statusCode, cause } = err as { message?: unknown; statusCode?: unknown; cause?: unknown };
  const text = typeof message === 'string' ? message : String(err);
  const status = statusCode === undefined ? '' : ` (HTTP ${String(statusCode)})`;
  return `${text}${status}${causeOf(cause)}`.slice(0, 300);
}

function causeOf(cause: unknown): string {
  if (typeof cause !== 'object' || cause === null) return '';
  const { code, message } = cause as { code?: unknown; message?: unknown };
  if (typeof code === 'string') return `: ${code}`;
  return typeof message === 'string' ? `: ${message}` : '';
}
