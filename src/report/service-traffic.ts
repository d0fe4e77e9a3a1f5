import { namedService } from '../core/resource.js';
import type { InventoryService } from './inventory.js';
import type { DecisionTally, ObservedUse } from './observed-use.js';

/** The callers of a service the review shows by name; the rest are counted. */
const topCallerCount = 5;

/** Decision-log traffic to a service the inventory does not list: access the matrix never evaluated. */
export interface UnknownService extends DecisionTally {
  /** As the decision log's `resource` gives it; Cedar's `Service::"<name>"`. */
  readonly name: string;
  /** Only the Kubernetes form `NAME.NAMESPACE` names a namespace, as for requests. */
  readonly namespace: string | null;
  /** Distinct principals that called it ('' for requests with no established identity). */
  readonly callers: number;
  /** The callers with the most requests, at most five. */
  readonly topCallers: readonly { readonly principal: string; readonly allow: number; readonly deny: number; readonly error: number }[];
}

/**
 * Services that decisions in the window named but the inventory does not, busiest first. A
 * decision with an empty `resource` (a request refused before its service was known) names none.
 */
export function servicesOutsideInventory(services: readonly InventoryService[], uses: readonly ObservedUse[]): UnknownService[] {
  const known = new Set(services.map((service) => service.name));
  const byService = new Map<string, ObservedUse[]>();
  for (const use of uses) {
    if (use.service === '' || known.has(use.service)) continue;
    const list = byService.get(use.service);
    if (list === undefined) byService.set(use.service, [use]);
    else list.push(use);
  }
  return [...byService]
    .map(([name, serviceUses]) => summarize(name, serviceUses))
    .sort((a, b) => total(b) - total(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function summarize(name: string, uses: readonly ObservedUse[]): UnknownService {
  const callers = new Map<string, { principal: string; allow: number; deny: number; error: number }>();
  for (const use of uses) {
    const caller = callers.get(use.principal) ?? { principal: use.principal, allow: 0, deny: 0, error: 0 };
    caller.allow += use.allow;
    caller.deny += use.deny;
    caller.error += use.error;
    callers.set(use.principal, caller);
  }
  const sum = (field: 'allow' | 'deny' | 'error'): number => uses.reduce((count, use) => count + use[field], 0);
  return {
    name,
    namespace: namedService(name).namespace ?? null,
    allow: sum('allow'),
    deny: sum('deny'),
    error: sum('error'),
    callers: callers.size,
    topCallers: [...callers.values()].sort((a, b) => total(b) - total(a) || (a.principal < b.principal ? -1 : 1)).slice(0, topCallerCount),
    // ISO 8601 UTC strings of one format sort as the times they name.
    firstSeen: uses.map((use) => use.firstSeen).reduce((a, b) => (b < a ? b : a)),
    lastSeen: uses.map((use) => use.lastSeen).reduce((a, b) => (b > a ? b : a)),
  };
}

function total(counts: { readonly allow: number; readonly deny: number; readonly error: number }): number {
  return counts.allow + counts.deny + counts.error;
}
