/**
 * What must hold of every answer and every decision log line, whatever the request was: shared
 * by the fuzzers and the log-injection tests.
 */

import { workloadClasses } from '../../src/core/identity.js';
import type { DecisionRecord } from '../../src/log/decision-record.js';

/** docs/reference.md, "Decision log" (contract), then the fields gatehouse adds. */
export const contractFields = ['time', 'decisionId', 'requestId', 'principal', 'authn', 'action', 'resource', 'path', 'decision', 'policies', 'errors', 'mode', 'durationMs'] as const;
export const decisionLineFields: readonly string[] = [...contractFields, 'reason', 'detail', 'policyVersion', 'wire'].sort();

/**
 * Characters that must never appear raw in a log line: C0 and C1 controls (CR, LF, NUL, ESC, DEL,
 * NEL among them) and the Unicode line and paragraph separators, which some log tools and
 * JavaScript readers treat as line breaks.
 */
// eslint-disable-next-line no-control-regex
export const rawLineBreakers = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** The keys of a decision line in their order, as docs/reference.md lists them ("Decision log"). */
const lineOrder = ['time', 'decisionId', 'requestId', 'principal', 'class', 'authn', 'actor', 'actorClass', 'delegation', 'action', 'resource', 'path', 'decision', 'policies', 'errors', 'mode', 'durationMs', 'reason', 'detail', 'policyVersion', 'wire', 'traceId', 'spanId'] as const;

/**
 * How a decision record was spelled before decisionLine wrote it field by field: JSON.stringify
 * (of its keys in the line's order), then DEL, the C1 controls and U+2028/U+2029 escaped.
 * decisionLine must give the same text.
 */
export function referenceLine(record: DecisionRecord): string {
  const ordered: Partial<Record<keyof DecisionRecord, unknown>> = {};
  for (const key of lineOrder) ordered[key] = record[key];
  return JSON.stringify(ordered).replace(/[\u007f-\u009f\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Keys of `record` that no line has. */
export function unknownKeys(record: object): string[] {
  return Object.keys(record).filter((key) => !(lineOrder as readonly string[]).includes(key));
}

const stringFields = ['time', 'decisionId', 'requestId', 'principal', 'authn', 'action', 'resource', 'path', 'mode', 'reason', 'detail', 'policyVersion', 'wire'];

/** Why `line` is not one well-formed decision log line, or undefined when it is. */
export function lineProblem(line: string): string | undefined {
  const breaker = rawLineBreakers.exec(line);
  if (breaker) return `raw U+${breaker[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${breaker.index}`;
  if (line.length > 16 * 1024) return `line of ${line.length} characters`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    return `not JSON: ${String(err)}`;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return 'not a JSON object';
  const record = parsed as Record<string, unknown>;
  // `class` is there exactly when the principal is a workload; `actor`, `actorClass` and
  // `delegation` together exactly when someone acts for the principal.
  const isWorkload = typeof record.principal === 'string' && record.principal.startsWith('Workload::');
  const delegated = 'actor' in record || 'delegation' in record;
  const expected = [...decisionLineFields, ...(isWorkload ? ['class'] : []), ...(delegated ? ['actor', 'actorClass', 'delegation'] : [])].sort();
  const keys = Object.keys(record).sort();
  if (keys.join() !== expected.join()) return `fields ${keys.join()} instead of ${expected.join()}`;
  if (isWorkload && !(workloadClasses as readonly unknown[]).includes(record.class)) return `class ${String(record.class)}`;
  for (const field of stringFields) if (typeof record[field] !== 'string') return `${field} is not a string`;
  if (!['allow', 'deny', 'error'].includes(record.decision as string)) return `decision ${String(record.decision)}`;
  if (!['enforce', 'dry-run'].includes(record.mode as string)) return `mode ${String(record.mode)}`;
  if (!['mtls', 'jwt', 'none'].includes(record.authn as string)) return `authn ${String(record.authn)}`;
  if (!['grpc', 'envoy-http', 'forward-auth'].includes(record.wire as string)) return `wire ${String(record.wire)}`;
  if (typeof record.durationMs !== 'number') return 'durationMs is not a number';
  if (delegated && (typeof record.actor !== 'string' || typeof record.delegation !== 'object' || record.delegation === null)) return 'actor or delegation malformed';
  if (delegated && !(workloadClasses as readonly unknown[]).includes(record.actorClass)) return `actorClass ${String(record.actorClass)}`;
  if (!Array.isArray(record.policies) || !record.policies.every((p) => typeof p === 'string')) return 'policies is not a list of strings';
  if (!Array.isArray(record.errors)) return 'errors is not a list';
  return undefined;
}

interface HeaderLike {
  readonly header?: { readonly key?: string; readonly value?: string };
}

interface ResponseLike {
  readonly status?: { readonly code?: number };
  readonly ok_response?: { readonly headers?: readonly HeaderLike[] };
  readonly denied_response?: { readonly headers?: readonly HeaderLike[] };
  readonly error_response?: { readonly headers?: readonly HeaderLike[] };
}

/** Why a CheckResponse could split or forge a header, or has an impossible shape; undefined when fine. */
export function responseProblem(response: ResponseLike): string | undefined {
  const parts = [response.ok_response, response.denied_response, response.error_response].filter((part) => part !== undefined);
  if (parts.length !== 1) return `${parts.length} of ok_response, denied_response, error_response`;
  const code = response.status?.code ?? 0;
  if (response.ok_response && code !== 0) return `ok_response with status ${code}`;
  if (response.denied_response && code !== 7 && code !== 16) return `denied_response with status ${code}`;
  if (response.error_response && code !== 14) return `error_response with status ${code}`;
  for (const option of parts[0]!.headers ?? []) {
    for (const text of [option.header?.key ?? '', option.header?.value ?? '']) {
      if (/[\r\n\0]/.test(text)) return `header ${JSON.stringify(option.header?.key)} carries CR, LF or NUL: ${JSON.stringify(text)}`;
    }
  }
  return undefined;
}
