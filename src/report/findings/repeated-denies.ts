import type { ObservedUse, PrincipalActivity } from '../observed-use.js';
import type { Finding } from './finding.js';

const topTargetCount = 5;

/**
 * Principals denied at least `threshold` times. `high` when none of their requests was allowed
 * (probing, or a client that cannot work at all), `medium` when some were (a route or method the
 * policies miss). Requests without an established identity (principal '') are not attributable.
 */
export function repeatedDenies(principals: readonly PrincipalActivity[], uses: readonly ObservedUse[], inventory: ReadonlySet<string>, threshold: number): Finding[] {
  const flagged = principals.filter((activity) => activity.principal !== '' && activity.deny >= threshold);
  const denied = new Map<string, ObservedUse[]>(flagged.map((activity) => [activity.principal, []]));
  for (const use of uses) if (use.deny > 0) denied.get(use.principal)?.push(use);
  return flagged
    .sort((a, b) => b.deny - a.deny || (a.principal < b.principal ? -1 : 1))
    .map((activity) => {
      const topTargets = (denied.get(activity.principal) ?? [])
        .sort((a, b) => b.deny - a.deny || (a.service < b.service ? -1 : a.service > b.service ? 1 : a.action < b.action ? -1 : 1))
        .slice(0, topTargetCount)
        .map((use) => ({ service: use.service, action: use.action, denies: use.deny }));
      const reasons = Object.entries(activity.denyReasons).map(([reason, count]) => `${reason} ${count}`).join(', ');
      return {
        kind: 'repeated-denies',
        severity: activity.allow === 0 ? 'high' : 'medium',
        message: `${activity.principal} was denied ${activity.deny} times (threshold ${threshold}; ${activity.allow} allowed; ${reasons})`,
        principal: activity.principal,
        denies: activity.deny,
        allows: activity.allow,
        threshold,
        inInventory: inventory.has(activity.principal),
        denyReasons: activity.denyReasons,
        topTargets,
        firstSeen: activity.firstSeen,
        lastSeen: activity.lastSeen,
      };
    });
}
