import type { Decision, ReasonCode } from '../core/decision.js';
import { authnMethodOf, delegationOf, principalName } from '../core/identity.js';
import type { AuthnResult, WorkloadClass } from '../core/identity.js';
import type { Wire } from '../pipeline/check-pipeline.js';
import type { TraceIds } from '../pipeline/check-tracing.js';

/** One decision log line (docs/reference.md, "Decision log"). */
export interface DecisionRecord {
  time: string;
  decisionId: string;
  requestId: string;
  principal: string;
  /**
   * A workload principal's class as Cedar saw it (after the `gatehouse.io/class` annotation);
   * absent for users, the anonymous caller and refused credentials. The SPIFFE ID alone does
   * not tell it, and an access review compares it with its inventory.
   */
  class?: WorkloadClass;
  authn: string;
  /** The workload acting for the principal, named as `principal` is; absent when none does. */
  actor?: string;
  /** The actor's class as Cedar saw it (`context.actor.class`): an access review flags build jobs and agents writing for people. */
  actorClass?: WorkloadClass;
  /** The acting chain, current actor first; absent when nobody acts for the principal. */
  delegation?: { depth: number; actors: readonly string[] };
  action: string;
  resource: string;
  path: string;
  decision: 'allow' | 'deny' | 'error';
  policies: readonly string[];
  errors: readonly { policy: string; message: string }[];
  mode: 'enforce' | 'dry-run';
  durationMs: number;
  /** Why: `policy_denied`, a credential or request error code, or '' for an allow. */
  reason: ReasonCode | '';
  detail: string;
  policyVersion: string;
  /** The protocol the Check arrived by (`grpc`, `envoy-http`, `forward-auth`); a server's lines only. */
  wire?: Wire;
  /** The W3C trace the Check belongs to, with telemetry on: its span's id, or the caller's when no span was made. */
  traceId?: string;
  spanId?: string;
}

const maxField = 1024;

/**
 * Decision → log record. Values that came from the caller are cut to a bounded length; the line
 * escapes control characters (decision-line.ts), so no value can break or forge a line. Built
 * without object spreads, which cost more than the rest of the record together; the order of
 * its keys is not the line's, which decisionLine spells in its own order.
 */
export function toDecisionRecord(
  decision: Decision,
  authn: AuthnResult | undefined,
  /** `time`: the Check's clock reading, a Date or milliseconds since the epoch. */
  meta: { time: Date | number; decisionId: string; requestId: string; durationMs: number; wire?: Wire; trace?: TraceIds },
): DecisionRecord {
  const identity = decision.kind === 'unavailable' ? undefined : decision.identity;
  const record: DecisionRecord = {
    time: isoTime(meta.time),
    decisionId: meta.decisionId,
    requestId: cut(meta.requestId),
    principal: identity ? cut(principalName(identity)) : '',
    authn: identity ? authnMethodOf(identity) : authn === undefined ? 'none' : authn.ok ? authnMethodOf(authn.identity) : authn.authn,
    action: cut(decision.subject.action),
    resource: cut(decision.subject.resource),
    path: cut(decision.subject.path),
    decision: decision.kind === 'unavailable' ? 'error' : decision.kind,
    policies: decision.kind === 'unavailable' ? [] : decision.policies,
    errors: decision.kind === 'unavailable' || decision.errors.length === 0 ? [] : decision.errors.map((e) => ({ policy: e.policy, message: cut(e.message) })),
    mode: decision.kind !== 'unavailable' && decision.dryRun === true ? 'dry-run' : 'enforce',
    durationMs: Math.round(meta.durationMs * 1000) / 1000,
    reason: decision.kind === 'allow' ? '' : decision.code,
    detail: decision.kind === 'allow' ? '' : cut(decision.reason),
    policyVersion: decision.kind === 'unavailable' ? '' : decision.version,
  };
  if (identity?.kind === 'workload') record.class = identity.class;
  const delegation = identity === undefined ? undefined : delegationOf(identity);
  if (delegation !== undefined) {
    if (delegation.actor !== undefined) {
      record.actor = principalName(delegation.actor);
      record.actorClass = delegation.actor.class;
    }
    record.delegation = { depth: delegation.depth, actors: delegation.actors.map(cut) };
  }
  if (meta.wire !== undefined) record.wire = meta.wire;
  if (meta.trace !== undefined) {
    record.traceId = meta.trace.traceId;
    record.spanId = meta.trace.spanId;
  }
  return record;
}

let lastTime = { ms: Number.NaN, iso: '' };

/** Date.toISOString, once per millisecond: Checks arriving in the same one share the string (it was a fifth of the record step). */
function isoTime(time: Date | number): string {
  const ms = typeof time === 'number' ? time : time.getTime();
  if (ms !== lastTime.ms) lastTime = { ms, iso: new Date(ms).toISOString() };
  return lastTime.iso;
}

function cut(value: string): string {
  return value.length > maxField ? `${value.slice(0, maxField)}…` : value;
}
