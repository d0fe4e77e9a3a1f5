import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { CheckDurations } from './check-durations.js';
import { growthInForce } from '../serve/heap-growth.js';
import { DecisionCounts } from './decision-counts.js';

/**
 * gatehouse's Prometheus metrics, one registry per process. A worker leaves out what its primary
 * counts (decision log losses), so that the primary can serve both without duplicate names; the
 * lines lost with a dead worker are counted by the primary alone (decisionLogLostCounter).
 */
export class Metrics {
  readonly registry = new Registry();
  /** The record step counts decisions here; `gatehouse_decisions_total` takes them when read. */
  readonly decisions = new DecisionCounts();
  readonly decisionsTotal: Counter<'outcome' | 'reason' | 'wire'> = new Counter({
    name: 'gatehouse_decisions_total',
    help: 'Check decisions by outcome (allow, deny, dry_run_deny, error), reason code and wire (grpc, envoy-http, forward-auth).',
    labelNames: ['outcome', 'reason', 'wire'] as const,
    registers: [this.registry],
    collect: () => this.decisions.addTo(this.decisionsTotal),
  });
  readonly checkDuration = new CheckDurations({
    name: 'gatehouse_check_duration_seconds',
    help: 'Time from receiving a Check to answering it.',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly policyReloads = new Counter({
    name: 'gatehouse_policy_reloads_total',
    help: 'Policy set reloads by result (success, failure).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly policyVersion = new Gauge({
    name: 'gatehouse_policy_set_info',
    help: 'The serving policy set: 1 for its version (content hash).',
    labelNames: ['version'] as const,
    registers: [this.registry],
  });
  readonly decisionLogDropped: Counter;
  /** Each worker exports its own telemetry, so the primary's sum over workers is the whole. */
  readonly telemetryDropped = new Counter({
    name: 'gatehouse_telemetry_dropped_total',
    help: 'OpenTelemetry records not delivered to the collector, by signal (logs, traces): the export queue was full, or the collector refused, failed or did not answer in time.',
    labelNames: ['signal'] as const,
    registers: [this.registry],
  });

  readonly kubernetesStale = new Gauge({
    name: 'gatehouse_kubernetes_stale',
    help: '1 while the Kubernetes watches are out of sync longer than staleAfterSeconds or have not synced yet.',
    registers: [this.registry],
  });

  /** With several workers, the largest of theirs. */
  readonly heapGrowingPercent = new Gauge({
    name: 'gatehouse_heap_growing_percent',
    help: 'How far past what is in use V8 may let the heap grow before its next full collection, as set from the memory budget\'s room; 0: V8\'s own rule.',
    aggregator: 'max',
    registers: [this.registry],
    collect() {
      this.set(growthInForce());
    },
  });

  constructor(role: 'single' | 'worker' = 'single') {
    this.decisionLogDropped = decisionLogDroppedCounter(role === 'worker' ? [] : [this.registry]);
    collectDefaultMetrics({ register: this.registry, prefix: 'gatehouse_' });
  }

  setPolicyVersion(version: string): void {
    this.policyVersion.reset();
    this.policyVersion.set({ version }, 1);
  }
}

export function decisionLogDroppedCounter(registers: Registry[]): Counter {
  return new Counter({
    name: 'gatehouse_decision_log_dropped_total',
    help: 'Decision log lines that could not be written (the destination was failing or too slow, or a worker\'s queue to the primary was full).',
    registers,
  });
}

/** Only a primary has it: lines of Checks a worker answered and never handed over before it died. */
export function decisionLogLostCounter(registers: Registry[]): Counter {
  return new Counter({
    name: 'gatehouse_decision_log_lost_total',
    help: 'Decision log lines lost with a worker that exited before handing them to the primary (killed, crashed).',
    registers,
  });
}
