import { fail, type Result } from '../core/result.js';

/** The fields of one decision log line (docs/reference.md, "Decision log") that an access review reads. */
export interface LoggedDecision {
  readonly timeMs: number;
  /** `Workload::"spiffe://…"`, `User::"…"`, `Anonymous::"anonymous"`, or '' when no identity was established. */
  readonly principal: string;
  /** The destination service, as `Service::"…"` names it. */
  readonly service: string;
  readonly action: string;
  /** The normalized path without the query; '' when the line has none (a refused path, an older server). */
  readonly path: string;
  readonly decision: 'allow' | 'deny' | 'error';
  /** The determining policies: the permits of an allow, the forbids of a deny. */
  readonly policies: readonly string[];
  /** `policy_denied`, a credential or request error code; '' for an allow. */
  readonly reason: string;
  readonly policyVersion: string;
  /** A workload principal's class as the server saw it; absent from users' lines and from servers that did not log it. */
  readonly class?: string;
  /** The decision's ULID; the same decision read twice (overlapping exports) is counted once. */
  readonly decisionId?: string;
  /** The workload acting for the principal (`Workload::"spiffe://…"`); absent when none did. */
  readonly actor?: string;
  /** The actor's class as the server saw it; absent from servers that did not log it. */
  readonly actorClass?: string;
}

// Classes are a short closed list; a longer value is not one, and must not grow the aggregation.
const maxClassLength = 32;
// A ULID is 26 characters; a longer id is kept out of the duplicate window rather than grow it.
const maxDecisionIdLength = 64;

/** One line of text → the decision it records, or why it is not a decision log line. Never throws. */
export function parseDecisionLine(line: string): Result<LoggedDecision> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return fail('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('not a JSON object');
  const record = value as Record<string, unknown>;
  const { time, principal, action, resource, path, decision, policies, reason, policyVersion, class: loggedClass, decisionId, actor, actorClass } = record;
  if (typeof time !== 'string') return fail('"time" is missing or not a string');
  const timeMs = Date.parse(time);
  if (!Number.isFinite(timeMs)) return fail('"time" is not a date and time');
  if (typeof principal !== 'string') return fail('"principal" is missing or not a string');
  if (typeof action !== 'string') return fail('"action" is missing or not a string');
  if (typeof resource !== 'string') return fail('"resource" is missing or not a string');
  if (decision !== 'allow' && decision !== 'deny' && decision !== 'error') return fail('"decision" is not allow, deny or error');
  if (policies !== undefined && !(Array.isArray(policies) && policies.every((id) => typeof id === 'string'))) return fail('"policies" is not a list of policy ids');
  if (loggedClass !== undefined && !isClassText(loggedClass)) return fail('"class" is not a workload class');
  if (actor !== undefined && !(typeof actor === 'string' && actor !== '')) return fail('"actor" is not a principal');
  if (actorClass !== undefined && !isClassText(actorClass)) return fail('"actorClass" is not a workload class');
  return {
    ok: true,
    value: {
      timeMs,
      principal,
      service: resource,
      action,
      path: typeof path === 'string' ? path : '',
      decision,
      policies: (policies as string[] | undefined) ?? [],
      reason: typeof reason === 'string' ? reason : '',
      policyVersion: typeof policyVersion === 'string' ? policyVersion : '',
      ...(loggedClass === undefined ? {} : { class: loggedClass }),
      ...(typeof decisionId === 'string' && decisionId !== '' && decisionId.length <= maxDecisionIdLength ? { decisionId } : {}),
      ...(actor === undefined ? {} : { actor }),
      ...(actorClass === undefined ? {} : { actorClass }),
    },
  };
}

function isClassText(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && value.length <= maxClassLength;
}
