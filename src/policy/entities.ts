import { isIP } from 'node:net';
import type { CedarEntity, CedarRecord, CedarRequest, EntityUid } from '../core/cedar-request.js';
import { authnMethodOf, delegationOf, type Delegation, type Identity } from '../core/identity.js';
import type { RequestSubject } from '../core/parse-request.js';
import type { RequestFacts } from '../core/request-facts.js';
import { readsEverything, type PolicyReads } from './reads.js';

export interface EntityOptions {
  /** What the policy set can read; the rest is left out (default: everything). */
  readonly reads?: PolicyReads;
  /** Labels of a Kubernetes namespace, when gatehouse watches namespaces; they become the Namespace's tags. */
  readonly namespaceLabels?: (namespace: string) => ReadonlyMap<string, string> | undefined;
}

/** The methods the schema declares as actions; a request with any other method has no Cedar action. */
export const knownActions: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'TRACE']);

// Credentials must never reach policies, which could copy them into decision logs or errors;
// pseudo-headers are already in context as path, method, host and scheme.
const hiddenHeaders: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie']);

// Shared by every request, so frozen: no consumer of one request can change the next.
const anonymousUid: EntityUid = Object.freeze({ type: 'Anonymous', id: 'anonymous' });
// Headers and query are entities only because Cedar gives tags to entities, not records.
const headersUid: EntityUid = Object.freeze({ type: 'Headers', id: 'request' });
const queryUid: EntityUid = Object.freeze({ type: 'Query', id: 'request' });

/**
 * Identity and the parsed request → the Cedar request and the entities it refers to. Pure.
 * `facts` supplies only what the parse step leaves as it came: headers, Host, scheme and source.
 */
export function buildCedarRequest(identity: Identity, request: RequestSubject, facts: RequestFacts, opts: EntityOptions = {}): CedarRequest {
  const { service } = request;
  const principal = principalEntities(identity);
  const resource: CedarEntity = {
    uid: { type: 'Service', id: service.name },
    attrs: service.namespace === undefined ? { name: service.name } : { name: service.name, namespace: service.namespace },
    parents: service.namespace === undefined ? [] : [namespaceUid(service.namespace)],
  };
  const reads = opts.reads ?? readsEverything;
  const acting = actingContext(delegationOf(identity), reads, principal.entity.uid);
  // Groups and namespaces carry nothing to read but tags, and `in` follows the parents listed on
  // the principal and resource themselves, so their entities are needed only when tags are read.
  const entities: CedarEntity[] = [principal.entity, ...(reads.namespaceTags ? principal.groups : []), resource, ...acting.entities];
  if (reads.namespaceTags) {
    const namespaces = new Set([...principal.namespaces, ...acting.namespaces, ...(service.namespace === undefined ? [] : [service.namespace])]);
    for (const namespace of namespaces) entities.push(namespaceEntity(namespace, opts));
  }
  if (reads.headers === 'all' || reads.headers.size > 0) {
    entities.push({ uid: headersUid, attrs: {}, parents: [], tags: headerTags(facts.headers, reads.headers) });
  }
  if (reads.query === 'all' || reads.query.size > 0) {
    entities.push({ uid: queryUid, attrs: {}, parents: [], tags: queryTags(request.query, reads.query) });
  }
  // Attributes no policy reads get a constant, so that requests differing only there are equal.
  const read = (name: string, value: string): string => (reads.context.has(name) ? value : '');
  return {
    principal: principal.entity.uid,
    action: { type: 'Action', id: request.method },
    resource: resource.uid,
    context: {
      path: read('path', request.path),
      method: read('method', request.method),
      host: read('host', facts.host.toLowerCase()),
      scheme: read('scheme', facts.scheme),
      authn: reads.context.has('authn') ? authnRecord(identity) : { method: '' },
      headers: { __entity: headersUid },
      query: { __entity: queryUid },
      source: sourceRecord(facts, reads),
      ...acting.context,
    },
    entities,
  };
}

/** The principal, the groups it is in, and the namespaces it is in (built once, with the resource's). */
function principalEntities(identity: Identity): { entity: CedarEntity; groups: CedarEntity[]; namespaces: string[] } {
  switch (identity.kind) {
    case 'workload': {
      const id = identity.spiffeId;
      const kubernetes = id.kubernetesParts();
      const attrs: CedarRecord = { spiffeId: id.toString(), trustDomain: id.trustDomain, class: identity.class };
      if (kubernetes !== undefined) {
        attrs.namespace = kubernetes.namespace;
        attrs.serviceAccount = kubernetes.serviceAccount;
      }
      const workload: CedarEntity = {
        uid: { type: 'Workload', id: id.toString() },
        attrs,
        parents: kubernetes === undefined ? [] : [namespaceUid(kubernetes.namespace)],
      };
      return { entity: workload, groups: [], namespaces: kubernetes === undefined ? [] : [kubernetes.namespace] };
    }
    case 'user': {
      const groups = [...new Set(identity.groups)].map((group): EntityUid => ({ type: 'Group', id: group }));
      const user: CedarEntity = {
        uid: { type: 'User', id: identity.name },
        attrs: { issuer: identity.issuer, subject: identity.subject },
        parents: groups,
      };
      return { entity: user, groups: groups.map((uid) => ({ uid, attrs: {}, parents: [] })), namespaces: [] };
    }
    case 'anonymous':
      return { entity: { uid: anonymousUid, attrs: {}, parents: [] }, groups: [], namespaces: [] };
    default: {
      const never: never = identity;
      return never;
    }
  }
}

/**
 * `context.actor` (the acting workload, its entity among the request's) and `context.delegation`,
 * each only when some policy reads it, so that a set that never mentions actors caches one
 * decision for a principal however many workloads act for it.
 */
function actingContext(
  delegation: Delegation | undefined,
  reads: PolicyReads,
  principal: EntityUid,
): { context: CedarRecord; entities: CedarEntity[]; namespaces: string[] } {
  const context: CedarRecord = {};
  const entities: CedarEntity[] = [];
  const namespaces: string[] = [];
  if (delegation === undefined) return { context, entities, namespaces };
  if (delegation.actor !== undefined && reads.context.has('actor')) {
    const actor = principalEntities(delegation.actor);
    context.actor = { __entity: actor.entity.uid };
    // A workload acting for itself is one entity: Cedar refuses the same uid twice.
    if (actor.entity.uid.type !== principal.type || actor.entity.uid.id !== principal.id) {
      entities.push(actor.entity);
      namespaces.push(...actor.namespaces);
    }
  }
  if (reads.context.has('delegation')) context.delegation = { depth: delegation.depth, actors: [...new Set(delegation.actors)] };
  return { context, entities, namespaces };
}

function namespaceUid(namespace: string): EntityUid {
  return { type: 'Namespace', id: namespace };
}

// Every namespace a request mentions is present, labels known or not, so `hasTag` on it is
// false rather than an evaluation error about a missing entity.
function namespaceEntity(namespace: string, opts: EntityOptions): CedarEntity {
  const labels = opts.namespaceLabels?.(namespace);
  return { uid: namespaceUid(namespace), attrs: {}, parents: [], tags: Object.fromEntries(labels ?? []) };
}

function authnRecord(identity: Identity): CedarRecord {
  const method = authnMethodOf(identity);
  const issuer = identity.kind === 'workload' || identity.kind === 'user' ? identity.issuer : undefined;
  return method === 'jwt' && issuer !== undefined ? { method, issuer } : { method };
}

function sourceRecord(facts: RequestFacts, reads: PolicyReads): CedarRecord {
  const source: CedarRecord = {};
  const ip = reads.sourceIp ? cedarIpAddress(facts.source.address) : undefined;
  if (ip !== undefined) source.ip = { __extn: { fn: 'ip', arg: ip } };
  if (reads.sourcePort && facts.source.port > 0) source.port = facts.source.port;
  return source;
}

/**
 * The address in the one spelling Cedar's `ip()` accepts, or undefined. Cedar refuses IPv4
 * embedded in IPv6 and zone ids, and one refused value fails the whole request, so a dual-stack
 * listener's `::ffff:10.1.2.3` becomes `10.1.2.3` and anything else unusual is left out.
 */
export function cedarIpAddress(address: string): string | undefined {
  const withoutZone = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(withoutZone);
  const candidate = mapped?.[1] ?? withoutZone;
  const version = isIP(candidate);
  if (version === 4) return candidate;
  if (version === 6 && !candidate.includes('.')) return candidate;
  return undefined;
}

// Built with Object.fromEntries, which defines own properties: a caller's `__proto__` header or
// query key stays an ordinary tag instead of reaching an object's prototype.
export function headerTags(headers: ReadonlyMap<string, string>, wanted: 'all' | ReadonlySet<string>): Record<string, string> {
  const visible = (name: string): boolean => !name.startsWith(':') && !hiddenHeaders.has(name);
  if (wanted === 'all') return Object.fromEntries([...headers].filter(([name]) => visible(name)));
  return Object.fromEntries([...wanted].filter((name) => visible(name) && headers.has(name)).map((name) => [name, headers.get(name)!]));
}

// Identical repeats count once. A key repeated with different values never gets here when
// policies read it (the authorizer refuses it as ambiguous first); were it to, its values stay
// joined, so no equality test matches one of them as if it were the only one.
export function queryTags(query: string, wanted: 'all' | ReadonlySet<string>): Record<string, string> {
  const values = new Map<string, string[]>();
  for (const [key, value] of new URLSearchParams(query)) {
    if (wanted !== 'all' && !wanted.has(key)) continue;
    const seen = values.get(key);
    if (seen === undefined) values.set(key, [value]);
    else if (!seen.includes(value)) seen.push(value);
  }
  return Object.fromEntries([...values].map(([key, seen]) => [key, seen.join(',')]));
}
