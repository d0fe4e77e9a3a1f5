import type { Decision, ReasonCode } from '../core/decision.js';
import type { CheckOutcome, Wire } from '../pipeline/check-pipeline.js';
import type { TraceIds } from '../pipeline/check-tracing.js';
import type { DecisionLog } from './decision-log.js';
import { toDecisionRecord, type DecisionRecord } from './decision-record.js';

/** The metrics the record step feeds (prom-client's Counter and Histogram fit). */
export interface DecisionMetrics {
  /** `gatehouse_decisions_total` (src/transport/decision-counts.ts). */
  readonly decisions: { count(outcome: DecisionLabels['outcome'], reason: DecisionLabels['reason'], wire: DecisionLabels['wire']): void };
  readonly checkDuration: { observe(seconds: number): void };
}

/** `gatehouse_decisions_total`'s labels: closed sets, so no request can mint a new series. */
export interface DecisionLabels {
  readonly outcome: 'allow' | 'deny' | 'dry_run_deny' | 'error';
  /** '' for an allow. */
  readonly reason: ReasonCode | '';
  readonly wire: Wire;
}

/** Decision records sent on besides the log line: OTLP log records (src/telemetry/decision-export.ts). */
export interface DecisionRecordSink {
  /** Takes the record the line is made of; it must only enqueue. */
  record(entry: DecisionRecord, trace: TraceIds | undefined): void;
}

/** The record step of a server: one decision log line (and OTLP log record) and the decision metrics per Check. */
export function recordDecision(log: DecisionLog, metrics: DecisionMetrics, exported?: DecisionRecordSink): (outcome: CheckOutcome) => void {
  return (outcome) => {
    const { decision, wire, durationMs } = outcome;
    const entry = recordOf(outcome);
    log.record(entry);
    exported?.record(entry, outcome.trace);
    metrics.decisions.count(outcomeLabel(decision), decision.kind === 'allow' ? '' : decision.code, wire);
    metrics.checkDuration.observe(durationMs / 1000);
  };
}

function outcomeLabel(decision: Decision): DecisionLabels['outcome'] {
  if (decision.kind === 'deny') return decision.dryRun ? 'dry_run_deny' : 'deny';
  return decision.kind === 'unavailable' ? 'error' : 'allow';
}

/** The decision log record of one Check. */
export function recordOf({ decision, authn, nowMs, decisionId, wire, parsed, durationMs, trace }: CheckOutcome): DecisionRecord {
  return toDecisionRecord(decision, authn, { time: nowMs, decisionId, requestId: parsed.request.requestId, durationMs, wire, trace });
}
