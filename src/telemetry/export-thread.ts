/**
 * The export thread (started by export-channel.ts): the OpenTelemetry SDK's providers, batch
 * processors and OTLP/HTTP protobuf exporters, off the event loop that answers Checks. It is
 * handed plain records (export-records.ts), makes the SDK's log records and spans of them, and
 * says back what the SDK dropped and which exports failed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { AlwaysOnSampler, BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { errorMessage } from '../errors.js';
import { ClosableExporter } from './closable-exporter.js';
import { dropCountingMeterProvider } from './drop-meter.js';
import { takenIndex, type ExportThreadOptions, type FromThread, type TelemetrySignal, type ToThread } from './export-records.js';
import { logRecordOf } from './log-records.js';
import { telemetryResource } from './resource.js';
import { emitCheckSpan, GivenIds } from './span-records.js';

/** Records waiting per signal in the SDK's processor; past this it drops new ones (counted). */
const maxQueueSize = 2048;
const maxExportBatchSize = 512;
const scheduledDelayMillis = 1000;
/** One request to the collector; below the processor's own timeout, so every failed batch is counted. */
const exportTimeoutMs = 5000;
/** How long a shutdown waits for what is queued to go out; an export still in flight then ends by its own timeout. */
const shutdownWaitMs = 2000;
/** Longest a caller-supplied attribute value may be, as in the decision log. */
const maxAttributeLength = 1024;

const port = parentPort!;
const options = workerData as ExportThreadOptions;
const taken = new Int32Array(options.taken);
const say = (message: FromThread): void => port.postMessage(message);
const dropped = (signal: TelemetrySignal) => dropCountingMeterProvider((count) => say({ kind: 'dropped', signal, count }));

setGlobalErrorHandler((err) => say({ kind: 'export-error', message: errorMessage(err) }));
const base = options.endpoint.replace(/\/+$/, '');
const resource = telemetryResource(options.serviceName);
const batching = { maxQueueSize, maxExportBatchSize, scheduledDelayMillis, exportTimeoutMillis: exportTimeoutMs * 2 };
const traceExporter = options.traces ? new ClosableExporter(new OTLPTraceExporter({ url: `${base}/v1/traces`, timeoutMillis: exportTimeoutMs })) : undefined;
const logExporter = options.logs ? new ClosableExporter(new OTLPLogExporter({ url: `${base}/v1/logs`, timeoutMillis: exportTimeoutMs })) : undefined;
const ids = new GivenIds();
const tracerProvider =
  traceExporter &&
  new TracerProvider({
    resource,
    // The event loop sampled (its decision line needs the outcome at once); only recorded Checks come here.
    sampler: new AlwaysOnSampler(),
    idGenerator: ids,
    spanLimits: { attributeValueLengthLimit: maxAttributeLength },
    spanProcessors: [new BatchSpanProcessor({ ...batching, exporter: traceExporter, selfObsMeterProvider: dropped('traces') })],
  });
const loggerProvider =
  logExporter &&
  new LoggerProvider({
    resource,
    logRecordLimits: { attributeValueLengthLimit: maxAttributeLength },
    processors: [new BatchLogRecordProcessor({ ...batching, exporter: logExporter, selfObsMeterProvider: dropped('logs') })],
  });
const tracer = tracerProvider?.getTracer('gatehouse');
const logger = loggerProvider?.getLogger('gatehouse');

port.on('message', (message: ToThread) => {
  if (message.kind === 'shutdown') {
    void shutdown().then(() => say({ kind: 'shut-down' }));
    return;
  }
  if (logger) for (const item of message.logs) logger.emit(logRecordOf(item));
  if (tracer) for (const span of message.spans) emitCheckSpan(tracer, ids, span);
  Atomics.add(taken, takenIndex.logs, message.logs.length);
  Atomics.add(taken, takenIndex.traces, message.spans.length);
});
say({ kind: 'ready' });

/** Sends what is queued, waiting at most a couple of seconds; what is left is dropped (and counted) rather than waited for. */
async function shutdown(): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, shutdownWaitMs)));
  const flushed = Promise.allSettled([tracerProvider?.shutdown(), loggerProvider?.shutdown()]);
  await Promise.race([flushed, waited]);
  clearTimeout(timer);
  traceExporter?.close();
  logExporter?.close();
  await flushed;
}
