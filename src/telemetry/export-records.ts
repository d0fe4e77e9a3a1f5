import type { DecisionRecord } from '../log/decision-record.js';
import type { TraceIds } from '../pipeline/check-tracing.js';

/**
 * What the event loop hands the export thread (export-thread.ts): plain values, cheap to copy
 * between threads. The thread makes the SDK's log records and spans of them; every OTLP step
 * (attribute limits, batching, protobuf encoding, sending) is the SDK's, there.
 */

/** A decision record as it goes out: the very record of the decision line, and its trace. */
export interface DecisionItem {
  readonly entry: DecisionRecord;
  readonly trace: TraceIds | undefined;
}

/** One recorded (sampled) Check: its ids, times (epoch ms) and what it decided. */
export interface CheckSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** The caller's span, when its `traceparent` arrived: this span is its child. */
  readonly parent: RemoteParent | undefined;
  readonly startMs: number;
  readonly endMs: number;
  readonly attributes: Readonly<Record<string, string | boolean>>;
  /** The reason code when gatehouse could not decide: the span's status is ERROR. */
  readonly errorCode: string | undefined;
  /** Steps that ran, each a child span. */
  readonly steps: readonly CheckStep[];
}

export interface RemoteParent {
  readonly spanId: string;
  readonly traceFlags: number;
  /** The caller's `tracestate`, serialized. */
  readonly traceState: string | undefined;
}

export interface CheckStep {
  readonly name: 'gatehouse.verify_token' | 'gatehouse.evaluate_policies';
  readonly startMs: number;
  readonly endMs: number;
}

export type TelemetrySignal = 'logs' | 'traces';

/** What the thread is started with. */
export interface ExportThreadOptions {
  readonly serviceName: string;
  readonly endpoint: string;
  readonly logs: boolean;
  readonly traces: boolean;
  /** Shared counters of the items the thread has taken from its port: [logs, traces]. */
  readonly taken: SharedArrayBuffer;
}

/** Event loop → thread. */
export type ToThread = { readonly kind: 'items'; readonly logs: readonly DecisionItem[]; readonly spans: readonly CheckSpan[] } | { readonly kind: 'shutdown' };

/** Thread → event loop. */
export type FromThread =
  | { readonly kind: 'ready' }
  | { readonly kind: 'dropped'; readonly signal: TelemetrySignal; readonly count: number }
  | { readonly kind: 'export-error'; readonly message: string }
  | { readonly kind: 'shut-down' };

/** Index of each signal's counter in `taken`. */
export const takenIndex: Record<TelemetrySignal, number> = { logs: 0, traces: 1 };
