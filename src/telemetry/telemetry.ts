import type { Config } from '../config.js';
import type { DecisionRecordSink } from '../log/record-decision.js';
import type { CheckTracing } from '../pipeline/check-tracing.js';
import { CheckTracer, samplerOf } from './check-tracer.js';
import { ExportChannel } from './export-channel.js';
import { ExportErrorNotice } from './export-errors.js';
import type { TelemetrySignal } from './export-records.js';

export type { TelemetrySignal } from './export-records.js';

export interface TelemetryDeps {
  /** Counts records dropped per signal: gatehouse_telemetry_dropped_total. */
  readonly dropped: (signal: TelemetrySignal, count: number) => void;
  readonly log: (message: string, meta: Record<string, unknown>) => void;
}

/** A server process's telemetry; its parts are absent when their signal is off. */
export interface Telemetry {
  readonly tracing: CheckTracing | undefined;
  readonly decisions: DecisionRecordSink | undefined;
  /** Sends what is queued, waiting at most a few seconds, and stops. */
  shutdown(): Promise<void>;
}

/**
 * OTLP/HTTP (protobuf) export with the OpenTelemetry SDK: spans from the Check pipeline, decision
 * records as log records. Undefined when `telemetry.otlp.endpoint` is empty, and then nothing of
 * it is on a Check's path. Each process (every worker) exports its own, from a thread of its own
 * (export-thread.ts): a Check pays for reading its trace context, sampling, and handing plain
 * records over; the SDK's record building, encoding and sending run beside the event loop.
 */
export async function startTelemetry(config: Config['telemetry'], deps: TelemetryDeps): Promise<Telemetry | undefined> {
  const { endpoint, logs, traces } = config.otlp;
  if (endpoint === '' || (!logs && !traces)) return undefined;
  const errors = new ExportErrorNotice(deps.log);
  const channel = await ExportChannel.start(
    { serviceName: config.serviceName, endpoint, logs, traces },
    {
      dropped: (signal, count) => {
        if (count > 0) deps.dropped(signal, count);
      },
      exportFailed: (message) => errors.report(message),
      log: deps.log,
    },
  );
  return {
    tracing: new CheckTracer(traces ? (span) => channel.span(span) : undefined, samplerOf(config.otlp)),
    decisions: logs ? { record: (entry, trace) => channel.log({ entry, trace }) } : undefined,
    shutdown: () => channel.shutdown(),
  };
}
