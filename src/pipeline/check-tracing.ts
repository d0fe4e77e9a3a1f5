import type { Authorizer } from '../core/decide.js';
import type { CheckOutcome } from './check-pipeline.js';

/**
 * What the pipeline tells a server's telemetry about one Check (src/telemetry/ implements it
 * over the OpenTelemetry SDK). Absent when telemetry is off, and the pipeline then does nothing
 * of it. Times are epoch milliseconds with sub-millisecond precision.
 */
export interface CheckTracing {
  /** At the start of a Check, with its headers (`traceparent`, `tracestate`); undefined when there is nothing to trace. */
  start(headers: ReadonlyMap<string, string>, startMs: number): CheckTrace | undefined;
}

export interface CheckTrace {
  /** The ids the decision log carries; undefined when no trace context arrived and no span was made. */
  readonly ids: TraceIds | undefined;
  /** A token's signature was checked (the identify step had to wait): from `startMs` to `endMs`. */
  tokenVerified(startMs: number, endMs: number): void;
  /** The policies were asked; Cedar ran unless `cacheHit`. */
  evaluated(startMs: number, endMs: number, cacheHit: boolean): void;
  /** The Check is answered. */
  end(outcome: CheckOutcome, endMs: number): void;
}

/** W3C trace context ids, lower-case hex, of the Check's span (or of the caller's, when no span was made). */
export interface TraceIds {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
}

/** Epoch milliseconds from the monotonic clock, as spans want them. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The authorizer as the pipeline hands it to `decide` while a Check is traced: each ask is timed. */
export function tracedAuthorizer(authorizer: Authorizer, trace: CheckTrace): Authorizer {
  return {
    version: authorizer.version,
    knownActions: authorizer.knownActions,
    ambiguity: (request, facts) => authorizer.ambiguity(request, facts),
    authorize(identity, request, facts) {
      const startMs = epochMs();
      const result = authorizer.authorize(identity, request, facts);
      trace.evaluated(startMs, epochMs(), result.cacheHit === true);
      return result;
    },
  };
}
