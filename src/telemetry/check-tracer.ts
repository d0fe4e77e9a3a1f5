import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Attributes, type Context, type Span, type TextMapGetter, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { delegationOf, principalName } from '../core/identity.js';
import type { CheckOutcome } from '../pipeline/check-pipeline.js';
import type { CheckTrace, CheckTracing, TraceIds } from '../pipeline/check-tracing.js';

const headerGetter: TextMapGetter<ReadonlyMap<string, string>> = {
  get: (headers, key) => headers.get(key),
  keys: (headers) => [...headers.keys()],
};

const propagator = new W3CTraceContextPropagator();

/**
 * The pipeline's CheckTracing over the OpenTelemetry SDK. With a tracer (telemetry.otlp.traces)
 * each Check is a SERVER span continuing the caller's `traceparent`/`tracestate` (Envoy forwards
 * them in the CheckRequest's headers); the SDK's sampler decides whether it is recorded. Without
 * one, only the caller's trace context is read, so that decision records still join its trace.
 */
export class CheckTracer implements CheckTracing {
  constructor(private readonly tracer: Tracer | undefined) {}

  start(headers: ReadonlyMap<string, string>, startMs: number): CheckTrace | undefined {
    if (!this.tracer) {
      if (!headers.has('traceparent')) return undefined;
      const caller = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, headers, headerGetter));
      return caller && { ids: { traceId: caller.traceId, spanId: caller.spanId, sampled: (caller.traceFlags & TraceFlags.SAMPLED) !== 0 }, ...untraced };
    }
    const parent = headers.has('traceparent') ? propagator.extract(ROOT_CONTEXT, headers, headerGetter) : ROOT_CONTEXT;
    return new SpanTrace(this.tracer, this.tracer.startSpan('gatehouse.check', { kind: SpanKind.SERVER, startTime: startMs }, parent));
  }
}

const untraced = {
  tokenVerified: () => undefined,
  evaluated: () => undefined,
  end: () => undefined,
} satisfies Omit<CheckTrace, 'ids'>;

/** One Check's span; steps that ran are its child spans, only when the span is recorded. */
class SpanTrace implements CheckTrace {
  readonly ids: TraceIds;

  constructor(
    private readonly tracer: Tracer,
    private readonly span: Span,
  ) {
    const { traceId, spanId, traceFlags } = span.spanContext();
    this.ids = { traceId, spanId, sampled: (traceFlags & TraceFlags.SAMPLED) !== 0 };
  }

  tokenVerified(startMs: number, endMs: number): void {
    this.child('gatehouse.verify_token', startMs, endMs);
  }

  evaluated(startMs: number, endMs: number, cacheHit: boolean): void {
    if (!this.span.isRecording()) return;
    this.span.setAttribute('gatehouse.cache_hit', cacheHit);
    if (!cacheHit) this.child('gatehouse.evaluate_policies', startMs, endMs);
  }

  end(outcome: CheckOutcome, endMs: number): void {
    if (this.span.isRecording()) {
      this.span.setAttributes(checkAttributes(outcome));
      const { decision } = outcome;
      if (decision.kind === 'unavailable') this.span.setStatus({ code: SpanStatusCode.ERROR, message: decision.code });
    }
    this.span.end(endMs);
  }

  private child(name: string, startMs: number, endMs: number): void {
    if (!this.span.isRecording()) return;
    this.tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime: startMs }, this.context()).end(endMs);
  }

  private context(): Context {
    return trace.setSpan(ROOT_CONTEXT, this.span);
  }
}

/** What the decision log says of a Check, as span attributes (docs/reference.md, "Telemetry"). */
function checkAttributes({ decision, decisionId, wire }: CheckOutcome): Attributes {
  const identity = decision.kind === 'unavailable' ? undefined : decision.identity;
  const actor = identity && delegationOf(identity)?.actor;
  return {
    'gatehouse.decision_id': decisionId,
    'gatehouse.principal': identity ? principalName(identity) : '',
    ...(actor ? { 'gatehouse.actor': principalName(actor) } : {}),
    'gatehouse.action': decision.subject.action,
    'gatehouse.resource': decision.subject.resource,
    'gatehouse.decision': decision.kind === 'unavailable' ? 'error' : decision.kind,
    'gatehouse.reason': decision.kind === 'allow' ? '' : decision.code,
    'gatehouse.policy_version': decision.kind === 'unavailable' ? '' : decision.version,
    'gatehouse.mode': decision.kind !== 'unavailable' && decision.dryRun === true ? 'dry-run' : 'enforce',
    'gatehouse.wire': wire,
  };
}
