import { authnMethodOf, delegationOf, type Identity } from '../core/identity.js';
import type { RequestSubject } from '../core/parse-request.js';
import type { RequestFacts } from '../core/request-facts.js';
import { cedarIpAddress, headerTags, queryTags } from './entities.js';
import type { PolicyReads } from './reads.js';

/**
 * The decision cache's key, made from the inputs buildCedarRequest reads rather than from the
 * request it builds: a repeated Check then costs neither the entities nor their serialization.
 *
 * It is exact in one direction, the one that matters: two inputs with the same key build the same
 * Cedar request (entities included) as the cache keys it, so they are decided alike. Every input
 * buildCedarRequest reads must appear here (test/policy/request-key.test.ts compares the two over
 * generated inputs). The header and query tags policies read are part of it, made by the same
 * functions the request is. Sets that read every header or query parameter, or namespace labels
 * (which come from outside the inputs), are keyed on the built request instead: `keyable` says which.
 *
 * The key is JSON of nested arrays, so no value can pass for a separator or another field.
 */
export function keyable(reads: PolicyReads): boolean {
  return !reads.namespaceTags && reads.headers !== 'all' && reads.query !== 'all';
}

/**
 * The key of a request under a keyable set. `pathTestResults` is how the cache keys the path when
 * policies read it only through the set's path tests; otherwise the path is part of the key as
 * policies see it (or not at all when none reads it).
 */
export function requestKey(identity: Identity, subject: RequestSubject, facts: RequestFacts, reads: PolicyReads, pathTestResults: string | undefined): string {
  const { context } = reads;
  const { service } = subject;
  const rest = JSON.stringify([
    subject.method,
    service.name,
    service.namespace ?? null,
    pathTestResults ?? (context.has('path') ? subject.path : null),
    context.has('host') ? facts.host.toLowerCase() : null,
    context.has('scheme') ? facts.scheme : null,
    reads.sourceIp ? (cedarIpAddress(facts.source.address) ?? null) : null,
    reads.sourcePort && facts.source.port > 0 ? facts.source.port : null,
    reads.headers !== 'all' && reads.headers.size > 0 ? headerTags(facts.headers, reads.headers) : null,
    reads.query !== 'all' && reads.query.size > 0 ? queryTags(subject.query, reads.query) : null,
  ]);
  // The whole key is one JSON array: the identity's elements, then the rest's.
  return `[${identityPart(identity, reads)},${rest.slice(1)}`;
}

/** Each identity's elements of the key (without the brackets), kept per identity object and policy set. */
const identityParts = new WeakMap<Identity, { readonly reads: PolicyReads; readonly json: string }>();

/**
 * The key's elements made of the identity alone: the principal's entity, `context.authn` and the
 * acting chain, each only when some policy reads it. Worked out once per identity object: a
 * caller's identity is remembered (XFCC, peer principal, token), so its requests share it.
 * Identities are frozen where they are made; one that is not is worked out each time.
 */
function identityPart(identity: Identity, reads: PolicyReads): string {
  const known = identityParts.get(identity);
  if (known !== undefined && known.reads === reads) return known.json;
  const json = JSON.stringify([identityKey(identity), reads.context.has('authn') ? authnKey(identity) : null, actingKey(identity, reads)]).slice(1, -1);
  // Only an identity that cannot change: a key kept for one that did would decide it as it was.
  if (Object.isFrozen(identity)) identityParts.set(identity, { reads, json });
  return json;
}

/** What the principal's entity is made of: a workload's entity is its SPIFFE ID's parts and class. */
function identityKey(identity: Identity): unknown[] {
  switch (identity.kind) {
    case 'workload':
      return ['workload', identity.spiffeId.toString(), identity.class];
    case 'user':
      return ['user', identity.name, identity.issuer, identity.subject, identity.groups];
    case 'anonymous':
      return ['anonymous'];
    default: {
      const never: never = identity;
      return never;
    }
  }
}

function authnKey(identity: Identity): unknown[] {
  const method = authnMethodOf(identity);
  return method === 'jwt' && identity.kind !== 'anonymous' ? [method, identity.issuer ?? null] : [method];
}

/** `context.actor` and `context.delegation`, each only when some policy reads it. */
function actingKey(identity: Identity, reads: PolicyReads): unknown[] | null {
  const delegation = delegationOf(identity);
  if (delegation === undefined) return null;
  const actor = reads.context.has('actor') && delegation.actor !== undefined ? identityKey(delegation.actor) : null;
  const chain = reads.context.has('delegation') ? [delegation.depth, delegation.actors] : null;
  return [actor, chain];
}
