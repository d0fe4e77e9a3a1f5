import type { LoggedDecision } from './log-line.js';

/** Decisions seen for one (principal, service, action). Times are ISO 8601. */
export interface ObservedUse extends DecisionTally {
  readonly principal: string;
  readonly service: string;
  readonly action: string;
}

/** Decisions of some caller or target by outcome, and when the first and the last were made (ISO 8601). */
export interface DecisionTally {
  readonly allow: number;
  readonly deny: number;
  readonly error: number;
  readonly firstSeen: string;
  readonly lastSeen: string;
}

/** Everything one principal did in the window. */
export interface PrincipalActivity extends DecisionTally {
  readonly principal: string;
  /** Denies by the log's `reason` code, e.g. `policy_denied`, `credential_revoked`. */
  readonly denyReasons: Readonly<Record<string, number>>;
  /** Decisions by the workload class the server logged (`class`); empty for users and for logs without it. */
  readonly classes: Readonly<Record<string, number>>;
}

export interface ObservedSummary {
  /** Decisions aggregated (inside the window, well-formed, within the limits). */
  readonly decisions: number;
  readonly uses: readonly ObservedUse[];
  readonly principals: readonly PrincipalActivity[];
  /** How many decisions each policy id determined. */
  readonly policyDecisions: ReadonlyMap<string, number>;
  /** Decisions per `policyVersion`, so a reader sees when the window spans policy changes. */
  readonly policyVersions: Readonly<Record<string, number>>;
  /** Decisions left out because the log named more distinct principals, services, actions or policies than the limits allow. */
  readonly dropped: number;
}

export interface AggregationLimits {
  readonly maxPrincipals: number;
  readonly maxServices: number;
  readonly maxActions: number;
  readonly maxUses: number;
  readonly maxPolicyIds: number;
  readonly maxReasonsPerPrincipal: number;
  readonly maxClassesPerPrincipal: number;
  readonly maxPolicyVersions: number;
}

// The (principal, service, action) key packs three interned indexes into one safe integer:
// 2^20 principals × 2^20 services × 2^12 actions stays below 2^53.
const serviceSlots = 2 ** 20;
const actionSlots = 2 ** 12;

export const defaultLimits: AggregationLimits = Object.freeze({
  maxPrincipals: serviceSlots,
  maxServices: serviceSlots,
  maxActions: actionSlots,
  maxUses: 2_000_000,
  maxPolicyIds: 100_000,
  maxReasonsPerPrincipal: 32,
  maxClassesPerPrincipal: 8,
  maxPolicyVersions: 1_000,
});

interface Stats {
  allow: number;
  deny: number;
  error: number;
  firstMs: number;
  lastMs: number;
}

/** Strings ↔ small integers, so map keys stay numbers and each distinct string is stored once. */
class Interner {
  readonly names: string[] = [];
  private readonly index = new Map<string, number>();

  constructor(private readonly limit: number) {}

  /** The string's index, or -1 when it is new and the limit is reached. */
  of(name: string): number {
    const known = this.index.get(name);
    if (known !== undefined) return known;
    if (this.names.length >= this.limit) return -1;
    this.index.set(name, this.names.length);
    this.names.push(name);
    return this.names.length - 1;
  }
}

/**
 * Folds decisions into counts per (principal, service, action), per principal and per policy.
 * Memory grows with the number of distinct keys, never with the number of lines, and each kind
 * of key is capped so a hostile or broken log cannot exhaust it.
 */
export class UseAggregator {
  private readonly principals: Interner;
  private readonly services: Interner;
  private readonly actions: Interner;
  private readonly uses = new Map<number, Stats>();
  private readonly reasons = new Map<number, Map<string, number>>();
  private readonly classes = new Map<number, Map<string, number>>();
  private readonly policyCounts = new Map<string, number>();
  private readonly versions = new Map<string, number>();
  private decisions = 0;
  private dropped = 0;

  constructor(private readonly limits: AggregationLimits = defaultLimits) {
    this.principals = new Interner(Math.min(limits.maxPrincipals, serviceSlots));
    this.services = new Interner(Math.min(limits.maxServices, serviceSlots));
    this.actions = new Interner(Math.min(limits.maxActions, actionSlots));
  }

  add(decision: LoggedDecision): void {
    const principal = this.principals.of(decision.principal);
    const service = this.services.of(decision.service);
    const action = this.actions.of(decision.action);
    if (principal < 0 || service < 0 || action < 0) {
      this.dropped += 1;
      return;
    }
    const key = (principal * serviceSlots + service) * actionSlots + action;
    let stats = this.uses.get(key);
    if (stats === undefined) {
      if (this.uses.size >= this.limits.maxUses) {
        this.dropped += 1;
        return;
      }
      stats = { allow: 0, deny: 0, error: 0, firstMs: decision.timeMs, lastMs: decision.timeMs };
      this.uses.set(key, stats);
    }
    stats[decision.decision] += 1;
    if (decision.timeMs < stats.firstMs) stats.firstMs = decision.timeMs;
    if (decision.timeMs > stats.lastMs) stats.lastMs = decision.timeMs;
    this.decisions += 1;

    if (decision.decision === 'deny') countCapped(this.reasons, principal, decision.reason === '' ? '(none)' : decision.reason, this.limits.maxReasonsPerPrincipal);
    if (decision.class !== undefined) countCapped(this.classes, principal, decision.class, this.limits.maxClassesPerPrincipal);
    for (const id of decision.policies) bump(this.policyCounts, id, this.limits.maxPolicyIds);
    bump(this.versions, decision.policyVersion, this.limits.maxPolicyVersions);
  }

  summary(): ObservedSummary {
    const uses: ObservedUse[] = [];
    const byPrincipal = new Map<number, Stats>();
    for (const [key, stats] of this.uses) {
      const action = key % actionSlots;
      const service = Math.floor(key / actionSlots) % serviceSlots;
      const principal = Math.floor(key / actionSlots / serviceSlots);
      uses.push({
        principal: this.principals.names[principal]!,
        service: this.services.names[service]!,
        action: this.actions.names[action]!,
        allow: stats.allow,
        deny: stats.deny,
        error: stats.error,
        firstSeen: iso(stats.firstMs),
        lastSeen: iso(stats.lastMs),
      });
      const total = byPrincipal.get(principal);
      if (total === undefined) byPrincipal.set(principal, { ...stats });
      else merge(total, stats);
    }
    uses.sort((a, b) => compare(a.principal, b.principal) || compare(a.service, b.service) || compare(a.action, b.action));
    const principals = [...byPrincipal].map(([index, stats]): PrincipalActivity => ({
      principal: this.principals.names[index]!,
      allow: stats.allow,
      deny: stats.deny,
      error: stats.error,
      firstSeen: iso(stats.firstMs),
      lastSeen: iso(stats.lastMs),
      denyReasons: byCount(this.reasons.get(index)),
      classes: byCount(this.classes.get(index)),
    }));
    principals.sort((a, b) => compare(a.principal, b.principal));
    return {
      decisions: this.decisions,
      uses,
      principals,
      policyDecisions: new Map(this.policyCounts),
      policyVersions: Object.fromEntries(this.versions),
      dropped: this.dropped,
    };
  }
}

/** Counts `name` for one principal; past `limit` distinct names, one slot stays free for '(other)', which takes the rest. */
function countCapped(counts: Map<number, Map<string, number>>, principal: number, name: string, limit: number): void {
  let names = counts.get(principal);
  if (names === undefined) {
    names = new Map();
    counts.set(principal, names);
  }
  const fits = names.has(name) || names.size < limit - 1;
  bump(names, fits ? name : '(other)', Infinity);
}

function byCount(counts: ReadonlyMap<string, number> | undefined): Record<string, number> {
  return Object.fromEntries([...(counts ?? [])].sort((a, b) => b[1] - a[1] || compare(a[0], b[0])));
}

function bump(counts: Map<string, number>, key: string, limit: number): void {
  const known = counts.get(key);
  if (known !== undefined) counts.set(key, known + 1);
  else if (counts.size < limit) counts.set(key, 1);
}

function merge(into: Stats, stats: Stats): void {
  into.allow += stats.allow;
  into.deny += stats.deny;
  into.error += stats.error;
  into.firstMs = Math.min(into.firstMs, stats.firstMs);
  into.lastMs = Math.max(into.lastMs, stats.lastMs);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
