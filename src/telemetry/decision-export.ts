import { ROOT_CONTEXT, SeverityNumber, TraceFlags, trace, type Attributes, type Logger } from '@opentelemetry/api';
import type { DecisionRecord } from '../log/decision-record.js';
import type { DecisionRecordSink } from '../log/record-decision.js';
import type { TraceIds } from '../pipeline/check-tracing.js';

interface Pending {
  readonly entry: DecisionRecord;
  readonly trace: TraceIds | undefined;
}

/**
 * Decision records as OTLP log records, each the very record the JSON line is made of, every
 * field an attribute. A Check only enqueues; the records are handed to the SDK's batch
 * processor on a later tick, whose bounded queue drops (and counts) what the collector cannot take.
 */
export class DecisionExport implements DecisionRecordSink {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(private readonly logger: Logger) {}

  record(entry: DecisionRecord, ids: TraceIds | undefined): void {
    this.queue.push({ entry, trace: ids });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Hands every enqueued record to the SDK. */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const { entry, trace: ids } of batch) this.logger.emit(logRecordOf(entry, ids));
  }
}

/** allow: INFO; deny (a policy's, a refused credential or request): WARN; gatehouse could not decide: ERROR. */
const severities = {
  allow: { severityNumber: SeverityNumber.INFO, severityText: 'INFO' },
  deny: { severityNumber: SeverityNumber.WARN, severityText: 'WARN' },
  error: { severityNumber: SeverityNumber.ERROR, severityText: 'ERROR' },
} as const;

export const decisionEventName = 'gatehouse.decision';

function logRecordOf(entry: DecisionRecord, ids: TraceIds | undefined) {
  return {
    eventName: decisionEventName,
    timestamp: new Date(entry.time),
    ...severities[entry.decision],
    body: `${entry.decision} ${entry.action} ${entry.resource}${entry.path}${entry.reason === '' ? '' : ` (${entry.reason})`}`,
    // The record's own fields, nested values (delegation, errors) as OTLP maps and arrays.
    attributes: entry as unknown as Attributes,
    ...(ids
      ? { context: trace.setSpanContext(ROOT_CONTEXT, { traceId: ids.traceId, spanId: ids.spanId, traceFlags: ids.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE, isRemote: true }) }
      : {}),
  };
}
