import { setGlobalErrorHandler } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Config } from '../config.js';
import type { DecisionRecordSink } from '../log/record-decision.js';
import type { CheckTracing } from '../pipeline/check-tracing.js';
import { CheckTracer } from './check-tracer.js';
import { ClosableExporter } from './closable-exporter.js';
import { DecisionExport } from './decision-export.js';
import { dropCountingMeterProvider } from './drop-meter.js';
import { ExportErrorNotice } from './export-errors.js';
import { telemetryResource } from './resource.js';

/** Records waiting per signal; past this the SDK drops new ones (counted). */
export const maxQueueSize = 2048;
const maxExportBatchSize = 512;
const scheduledDelayMillis = 1000;
/** One request to the collector; below the processor's own timeout, so every failed batch is counted. */
const exportTimeoutMs = 5000;
/** How long a shutdown waits for what is queued to go out; an export still in flight then ends by its own timeout. */
const shutdownWaitMs = 2000;
/** Longest a caller-supplied attribute value may be, as in the decision log. */
const maxAttributeLength = 1024;

export type TelemetrySignal = 'logs' | 'traces';

export interface TelemetryDeps {
  /** Counts records dropped per signal: gatehouse_telemetry_dropped_total. */
  readonly dropped: (signal: TelemetrySignal, count: number) => void;
  readonly log: (message: string, meta: Record<string, unknown>) => void;
}

/** A server process's telemetry; its parts are absent when their signal is off. */
export interface Telemetry {
  readonly tracing: CheckTracing | undefined;
  readonly decisions: DecisionRecordSink | undefined;
  /** Sends what is queued, waiting at most a couple of seconds, and stops. */
  shutdown(): Promise<void>;
}

/**
 * OTLP/HTTP (protobuf) export with the OpenTelemetry SDK: spans from the Check pipeline, decision
 * records as log records. Undefined when `telemetry.otlp.endpoint` is empty, and then nothing of
 * it is on a Check's path. Each process (every worker) exports its own.
 */
export function startTelemetry(config: Config['telemetry'], deps: TelemetryDeps): Telemetry | undefined {
  const { endpoint, logs, traces, sampleRatio } = config.otlp;
  if (endpoint === '' || (!logs && !traces)) return undefined;
  const base = endpoint.replace(/\/+$/, '');
  const resource = telemetryResource(config.serviceName);
  const errors = new ExportErrorNotice(deps.log);
  setGlobalErrorHandler((err) => errors.report(err));
  const batching = { maxQueueSize, maxExportBatchSize, scheduledDelayMillis, exportTimeoutMillis: exportTimeoutMs * 2 };

  const traceExporter = traces ? new ClosableExporter(new OTLPTraceExporter({ url: `${base}/v1/traces`, timeoutMillis: exportTimeoutMs })) : undefined;
  const logExporter = logs ? new ClosableExporter(new OTLPLogExporter({ url: `${base}/v1/logs`, timeoutMillis: exportTimeoutMs })) : undefined;
  const tracerProvider = traceExporter
    ? new TracerProvider({
        resource,
        sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(sampleRatio) }),
        spanLimits: { attributeValueLengthLimit: maxAttributeLength },
        spanProcessors: [
          new BatchSpanProcessor({
            ...batching,
            exporter: traceExporter,
            selfObsMeterProvider: dropCountingMeterProvider((n) => deps.dropped('traces', n)),
          }),
        ],
      })
    : undefined;
  const loggerProvider = logExporter
    ? new LoggerProvider({
        resource,
        logRecordLimits: { attributeValueLengthLimit: maxAttributeLength },
        processors: [
          new BatchLogRecordProcessor({
            ...batching,
            exporter: logExporter,
            selfObsMeterProvider: dropCountingMeterProvider((n) => deps.dropped('logs', n)),
          }),
        ],
      })
    : undefined;
  const decisions = loggerProvider && new DecisionExport(loggerProvider.getLogger('gatehouse'));

  return {
    tracing: new CheckTracer(tracerProvider?.getTracer('gatehouse')),
    decisions,
    async shutdown() {
      decisions?.flush();
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, shutdownWaitMs)));
      const flushed = Promise.allSettled([tracerProvider?.shutdown(), loggerProvider?.shutdown()]);
      await Promise.race([flushed, waited]);
      clearTimeout(timer);
      // What is still queued is dropped (and counted) rather than waited for.
      traceExporter?.close();
      logExporter?.close();
      await flushed;
    },
  };
}
