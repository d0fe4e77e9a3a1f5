import { ROOT_CONTEXT, SeverityNumber, TraceFlags, trace, type Attributes, type LogRecord } from '@opentelemetry/api';
import type { DecisionItem } from './export-records.js';

/** allow: INFO; deny (a policy's, a refused credential or request): WARN; gatehouse could not decide: ERROR. */
const severities = {
  allow: { severityNumber: SeverityNumber.INFO, severityText: 'INFO' },
  deny: { severityNumber: SeverityNumber.WARN, severityText: 'WARN' },
  error: { severityNumber: SeverityNumber.ERROR, severityText: 'ERROR' },
} as const;

export const decisionEventName = 'gatehouse.decision';

/** A decision record as the SDK's log record: every field of the line an attribute, in the Check's trace. */
export function logRecordOf({ entry, trace: ids }: DecisionItem): LogRecord {
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
