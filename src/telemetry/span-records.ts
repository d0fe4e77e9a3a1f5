import { createTraceState, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Tracer } from '@opentelemetry/api';
import { RandomIdGenerator, type IdGenerator } from '@opentelemetry/sdk-trace';
import type { CheckSpan } from './export-records.js';

/**
 * The SDK's random ids, except the next Check span's, which the event loop already chose (its
 * decision line carries them). The tracer asks for a span id once per span, and for a trace id
 * only when the span has no parent.
 */
export class GivenIds implements IdGenerator {
  private readonly random = new RandomIdGenerator();
  private traceId: string | undefined;
  private spanId: string | undefined;

  /** The next span's id, and its trace's when it starts one (the tracer asks only then). */
  give(spanId: string, traceId: string | undefined): void {
    this.spanId = spanId;
    this.traceId = traceId;
  }

  generateTraceId(): string {
    const given = this.traceId ?? this.random.generateTraceId();
    this.traceId = undefined;
    return given;
  }

  generateSpanId(): string {
    const given = this.spanId;
    if (given === undefined) return this.random.generateSpanId();
    this.spanId = undefined;
    return given;
  }
}

/** A Check as the SDK's span, with a child span per step that ran. The tracer samples every one it is given. */
export function emitCheckSpan(tracer: Tracer, ids: GivenIds, span: CheckSpan): void {
  ids.give(span.spanId, span.parent === undefined ? span.traceId : undefined);
  const check = tracer.startSpan('gatehouse.check', { kind: SpanKind.SERVER, startTime: span.startMs, attributes: span.attributes }, parentContext(span));
  const inCheck = trace.setSpan(ROOT_CONTEXT, check);
  for (const step of span.steps) tracer.startSpan(step.name, { kind: SpanKind.INTERNAL, startTime: step.startMs }, inCheck).end(step.endMs);
  if (span.errorCode !== undefined) check.setStatus({ code: SpanStatusCode.ERROR, message: span.errorCode });
  check.end(span.endMs);
}

function parentContext({ traceId, parent }: CheckSpan): Context {
  if (parent === undefined) return ROOT_CONTEXT;
  const traceState = parent.traceState === undefined ? undefined : createTraceState(parent.traceState);
  return trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: parent.spanId, traceFlags: parent.traceFlags, isRemote: true, traceState });
}
