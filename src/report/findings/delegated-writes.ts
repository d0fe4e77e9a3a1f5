import type { ActingForEdge } from '../acting-for.js';
import type { Finding } from './finding.js';

const writeActions: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Build jobs and agents that exercised a person's write access: allowed POST, PUT, PATCH or
 * DELETE decisions whose principal is a `User` and whose actor is of class `build` or `agent`.
 * A build job runs code from pull requests and an agent decides for itself what to send, so a
 * person's authority to change things reaching either is worth a look even when a policy allowed
 * it. `high` for build jobs, `medium` for agents. One finding per (actor, person, service).
 */
export function delegatedWrites(edges: readonly ActingForEdge[]): Finding[] {
  const groups = new Map<string, ActingForEdge[]>();
  for (const edge of edges) {
    if (edge.allow === 0 || !writeActions.has(edge.action) || !edge.principal.startsWith('User::')) continue;
    if (edge.actorClass !== 'build' && edge.actorClass !== 'agent') continue;
    const key = JSON.stringify([edge.actor, edge.actorClass, edge.principal, edge.service]);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [edge]);
    else group.push(edge);
  }
  return [...groups.values()].map((group): Finding => {
    const { actor, actorClass, principal, service } = group[0]!;
    const actions = group.map((edge) => ({ action: edge.action, allow: edge.allow }));
    const allows = actions.reduce((sum, action) => sum + action.allow, 0);
    return {
      kind: 'delegated-write',
      severity: actorClass === 'build' ? 'high' : 'medium',
      message: `${actor} (${actorClass}) wrote for ${principal} on ${service}: ${actions.map((action) => `${action.action} ×${action.allow}`).join(', ')} allowed`,
      actor,
      actorClass,
      principal,
      service,
      actions,
      allows,
      // ISO 8601 UTC strings of one format sort as the times they name.
      firstSeen: group.map((edge) => edge.firstSeen).reduce((a, b) => (b < a ? b : a)),
      lastSeen: group.map((edge) => edge.lastSeen).reduce((a, b) => (b > a ? b : a)),
    };
  });
}
