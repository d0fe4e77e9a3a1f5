import { ROOT_CONTEXT, SamplingDecision, SpanKind, TraceFlags, trace, type Context, type SpanContext, type TextMapGetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { ParentBasedSampler, RandomIdGenerator, TraceIdRatioBasedSampler, type Sampler } from '@opentelemetry/sdk-trace';
import type { Config } from '../config.js';
import { delegationOf, principalName } from '../core/identity.js';
import type { CheckOutcome } from '../pipeline/check-pipeline.js';
import type { CheckTrace, CheckTracing, TraceIds } from '../pipeline/check-tracing.js';
import type { CheckSpan, CheckStep } from './export-records.js';

const headerGetter: TextMapGetter<ReadonlyMap<string, string>> = {
  get: (headers, key) => headers.get(key),
  keys: (headers) => [...headers.keys()],
};

const propagator = new W3CTraceContextPropagator();

type SamplingConfig = Pick<Config['telemetry']['otlp'], 'sampler' | 'sampleRatio'>;

/** OTEL_TRACES_SAMPLER's samplers of the same names, from the SDK. */
export function samplerOf({ sampler, sampleRatio }: SamplingConfig): Sampler {
  const ratio = new TraceIdRatioBasedSampler(sampleRatio);
  return sampler === 'traceidratio' ? ratio : new ParentBasedSampler({ root: ratio });
}

/**
 * The pipeline's CheckTracing. With `spans` (telemetry.otlp.traces) each Check is a SERVER span
 * continuing the caller's `traceparent`/`tracestate` (Envoy forwards them in the CheckRequest's
 * headers): here, on the event loop, the SDK's propagator reads them, the SDK's sampler decides
 * and the SDK's id generator names the span, since the decision line carries its ids at once; a
 * recorded Check is handed to `spans`, and the SDK makes and exports the span in the export
 * thread. Without `spans`, only the caller's trace context is read, so that decision records
 * still join its trace.
 */
export class CheckTracer implements CheckTracing {
  private readonly ids = new RandomIdGenerator();

  constructor(
    private readonly spans: ((span: CheckSpan) => void) | undefined,
    private readonly sampler: Sampler,
  ) {}

  start(headers: ReadonlyMap<string, string>, startMs: number): CheckTrace | undefined {
    const parent = headers.has('traceparent') ? propagator.extract(ROOT_CONTEXT, headers, headerGetter) : ROOT_CONTEXT;
    const caller = trace.getSpanContext(parent);
    if (!this.spans) return caller && { ids: { traceId: caller.traceId, spanId: caller.spanId, sampled: (caller.traceFlags & TraceFlags.SAMPLED) !== 0 }, ...untraced };
    const traceId = caller?.traceId ?? this.ids.generateTraceId();
    const spanId = this.ids.generateSpanId();
    if (!this.sampled(parent, traceId)) return { ids: { traceId, spanId, sampled: false }, ...untraced };
    return new RecordedCheck(this.spans, { traceId, spanId, sampled: true }, caller, startMs);
  }

  private sampled(parent: Context, traceId: string): boolean {
    return this.sampler.shouldSample(parent, traceId, 'gatehouse.check', SpanKind.SERVER, {}, []).decision === SamplingDecision.RECORD_AND_SAMPLED;
  }
}

const untraced = {
  tokenVerified: () => undefined,
  evaluated: () => undefined,
  end: () => undefined,
} satisfies Omit<CheckTrace, 'ids'>;

/** One recorded Check: what its span and child spans will say, handed off when it ends. */
class RecordedCheck implements CheckTrace {
  private readonly steps: CheckStep[] = [];
  private cacheHit: boolean | undefined;

  constructor(
    private readonly spans: (span: CheckSpan) => void,
    readonly ids: TraceIds,
    private readonly caller: SpanContext | undefined,
    private readonly startMs: number,
  ) {}

  tokenVerified(startMs: number, endMs: number): void {
    this.steps.push({ name: 'gatehouse.verify_token', startMs, endMs });
  }

  evaluated(startMs: number, endMs: number, cacheHit: boolean): void {
    this.cacheHit = cacheHit;
    if (!cacheHit) this.steps.push({ name: 'gatehouse.evaluate_policies', startMs, endMs });
  }

  end(outcome: CheckOutcome, endMs: number): void {
    const { decision } = outcome;
    const caller = this.caller;
    this.spans({
      traceId: this.ids.traceId,
      spanId: this.ids.spanId,
      parent: caller && { spanId: caller.spanId, traceFlags: caller.traceFlags, traceState: caller.traceState?.serialize() },
      startMs: this.startMs,
      endMs,
      attributes: checkAttributes(outcome, this.cacheHit),
      errorCode: decision.kind === 'unavailable' ? decision.code : undefined,
      steps: this.steps,
    });
  }
}

/** What the decision log says of a Check, as span attributes (docs/reference.md, "Telemetry"). */
function checkAttributes({ decision, decisionId, wire }: CheckOutcome, cacheHit: boolean | undefined): Record<string, string | boolean> {
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
    ...(cacheHit === undefined ? {} : { 'gatehouse.cache_hit': cacheHit }),
  };
}
