import type { UnknownService } from '../service-traffic.js';
import type { Finding } from './finding.js';

/**
 * Services that were called but are missing from the inventory: the matrix never evaluated who
 * may reach them. `medium` when some request was allowed (access nobody reviewed), `low` when
 * every one was denied.
 */
export function unknownServices(services: readonly UnknownService[]): Finding[] {
  return services.map((service) => ({
    kind: 'unknown-service',
    severity: service.allow > 0 ? 'medium' : 'low',
    message: `${service.name} is not in the inventory but received ${service.allow + service.deny + service.error} requests (${service.allow} allowed, ${service.deny} denied) from ${service.callers} ${service.callers === 1 ? 'caller' : 'callers'}`,
    service: service.name,
    allow: service.allow,
    deny: service.deny,
    error: service.error,
    callers: service.callers,
    topCallers: service.topCallers.map((caller) => caller.principal),
    firstSeen: service.firstSeen,
    lastSeen: service.lastSeen,
  }));
}
