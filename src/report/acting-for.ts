import type { InventoryWorkload } from './inventory.js';
import type { LoggedDecision } from './log-line.js';
import type { DecisionTally } from './observed-use.js';

/** Decisions where one workload acted for one principal on one (service, action). Times are ISO 8601. */
export interface ActingForEdge extends DecisionTally {
  /** The acting workload, `Workload::"spiffe://…"`, as the log's `actor` names it. */
  readonly actor: string;
  /** As the server logged it (`actorClass`), else the inventory's class of the actor, else `unknown`. */
  readonly actorClass: string;
  /** Whose authority it used: the log's `principal`. */
  readonly principal: string;
  readonly service: string;
  readonly action: string;
}

export interface ActingForSummary {
  /** By actor, then principal, service, action. */
  readonly edges: readonly ActingForEdge[];
  /** Decisions with an actor left out because the log named more distinct edges than the limit. */
  readonly dropped: number;
}

// Every distinct (actor, class, principal, service, action) is one entry; a hostile or broken log
// must not grow it without bound. Far above what a real estate's delegation shows in a window.
export const defaultMaxEdges = 100_000;

interface Stats {
  readonly actor: string;
  readonly actorClass: string;
  readonly principal: string;
  readonly service: string;
  readonly action: string;
  allow: number;
  deny: number;
  error: number;
  firstMs: number;
  lastMs: number;
}

/**
 * Folds the decisions that carry an `actor` into who-acted-for-whom edges. A decision without
 * one (a workload calling for itself, or an `act` chain whose current actor is no workload) is
 * no edge. The logged class is part of the key, so an actor the server saw with two classes
 * shows both.
 */
export class ActingForAggregator {
  private readonly edges = new Map<string, Stats>();
  private dropped = 0;

  constructor(private readonly maxEdges: number = defaultMaxEdges) {}

  add(decision: LoggedDecision): void {
    if (decision.actor === undefined) return;
    const loggedClass = decision.actorClass ?? '';
    const key = JSON.stringify([decision.actor, loggedClass, decision.principal, decision.service, decision.action]);
    let stats = this.edges.get(key);
    if (stats === undefined) {
      if (this.edges.size >= this.maxEdges) {
        this.dropped += 1;
        return;
      }
      stats = { actor: decision.actor, actorClass: loggedClass, principal: decision.principal, service: decision.service, action: decision.action, allow: 0, deny: 0, error: 0, firstMs: decision.timeMs, lastMs: decision.timeMs };
      this.edges.set(key, stats);
    }
    stats[decision.decision] += 1;
    if (decision.timeMs < stats.firstMs) stats.firstMs = decision.timeMs;
    if (decision.timeMs > stats.lastMs) stats.lastMs = decision.timeMs;
  }

  /**
   * Decisions per class the server logged (`actorClass`), per actor; lines without one are not
   * counted: they say nothing about the class policies saw.
   */
  loggedClasses(): ReadonlyMap<string, Readonly<Record<string, number>>> {
    const byActor = new Map<string, Record<string, number>>();
    for (const stats of this.edges.values()) {
      if (stats.actorClass === '') continue;
      const classes = byActor.get(stats.actor) ?? {};
      classes[stats.actorClass] = (classes[stats.actorClass] ?? 0) + stats.allow + stats.deny + stats.error;
      byActor.set(stats.actor, classes);
    }
    return byActor;
  }

  /** The edges, an actor the log gave no class for taking the inventory's. */
  summary(workloads: readonly InventoryWorkload[]): ActingForSummary {
    const inventoryClass = new Map(workloads.map((workload) => [workload.principal, workload.class]));
    const edges = [...this.edges.values()].map(
      (stats): ActingForEdge => ({
        actor: stats.actor,
        actorClass: stats.actorClass !== '' ? stats.actorClass : (inventoryClass.get(stats.actor) ?? 'unknown'),
        principal: stats.principal,
        service: stats.service,
        action: stats.action,
        allow: stats.allow,
        deny: stats.deny,
        error: stats.error,
        firstSeen: new Date(stats.firstMs).toISOString(),
        lastSeen: new Date(stats.lastMs).toISOString(),
      }),
    );
    edges.sort((a, b) => compare(a.actor, b.actor) || compare(a.principal, b.principal) || compare(a.service, b.service) || compare(a.action, b.action) || compare(a.actorClass, b.actorClass));
    return { edges, dropped: this.dropped };
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
