import type { Delegation, Identity, WorkloadClass } from '../core/identity.js';
import { workloadClasses } from '../core/identity.js';
import { fail, type Result } from '../core/result.js';
import { SpiffeId } from '../core/spiffe-id.js';
import type { InventoryUser, InventoryWorkload } from './inventory.js';
import type { AllowedUse } from './observed-paths.js';
import { entityRef, type ScopeTarget } from './policy-scope.js';
import { anonymousPrincipal } from './review-identity.js';

/** Who made an observed use, as `report --suggest` grants it and checks it against the current set. */
export interface SuggestedCaller {
  /** The identity Cedar requests are built for: the principal, carrying its actor when one acted. */
  readonly identity: Identity;
  readonly target: ScopeTarget;
  /** A readable part of the suggested policies' ids. */
  readonly name: string;
  /** For a person: the groups the inventory gives them, which the suggested permit requires. */
  readonly groups: readonly string[];
  /** The workload that acted for the principal, which the suggested permit names. */
  readonly actor: ActingWorkload | undefined;
}

export interface ActingWorkload {
  /** `Workload::"spiffe://…"`. */
  readonly principal: string;
  readonly spiffeId: SpiffeId;
  readonly class: WorkloadClass;
}

/** What the report knows about the callers besides the log: the inventory's people and workloads, by principal. */
export interface KnownCallers {
  readonly users: ReadonlyMap<string, InventoryUser>;
  readonly workloads: ReadonlyMap<string, InventoryWorkload>;
}

export function knownCallers(users: readonly InventoryUser[], workloads: readonly InventoryWorkload[]): KnownCallers {
  return { users: new Map(users.map((user) => [user.principal, user])), workloads: new Map(workloads.map((workload) => [workload.principal, workload])) };
}

/**
 * The caller of an allowed use, or why no grant can be suggested for it. A workload is taken with
 * the class the server logged; a person only when the inventory lists them, in its groups (the log
 * does not record groups, so nothing else could check a group's grant); an actor only when it is a
 * workload, with the class the server logged, else the inventory's.
 */
export function suggestedCaller(use: AllowedUse, known: KnownCallers): Result<SuggestedCaller> {
  const principal = principalOf(use, known);
  if (!principal.ok || use.actor === undefined) return principal;
  const actor = workloadOf(use.actor);
  if (actor === undefined) return fail(`the actor ${use.actor} is not a workload a policy can name`);
  const actorClass = classOf(use.actorClass) ?? known.workloads.get(use.actor)?.class ?? 'unknown';
  const acting: ActingWorkload = { principal: use.actor, spiffeId: actor.id, class: actorClass };
  const { identity } = principal.value;
  if (identity.kind === 'anonymous') return fail('nobody acts for the anonymous caller');
  const delegation: Delegation = { actor: { kind: 'workload', spiffeId: actor.id, class: actorClass, authn: 'mtls' }, actors: [actor.id.toString()], depth: 1 };
  return { ok: true, value: { ...principal.value, identity: { ...identity, delegation }, name: `${principal.value.name}-via-${actor.name}`, actor: acting } };
}

function principalOf(use: AllowedUse, known: KnownCallers): Result<SuggestedCaller> {
  if (use.principal === anonymousPrincipal) {
    return { ok: true, value: { identity: { kind: 'anonymous' }, target: { type: 'Anonymous', ref: anonymousPrincipal, ancestors: new Set() }, name: 'anonymous', groups: [], actor: undefined } };
  }
  if (use.principal.startsWith('User::')) {
    const user = known.users.get(use.principal);
    if (user === undefined) return fail('a person is suggested only when the inventory lists them: their groups are not in the decision log');
    return {
      ok: true,
      value: {
        identity: { kind: 'user', issuer: user.issuer, subject: user.id, name: user.id, groups: user.groups },
        target: { type: 'User', ref: user.principal, ancestors: new Set(user.groups.map((group) => entityRef('Group', group))) },
        name: user.id,
        groups: user.groups,
        actor: undefined,
      },
    };
  }
  const workload = workloadOf(use.principal);
  if (workload === undefined) return fail('only workloads, the anonymous caller and the inventory’s people are suggested');
  const kubernetes = workload.id.kubernetesParts();
  return {
    ok: true,
    value: {
      identity: { kind: 'workload', spiffeId: workload.id, class: classOf(use.class) ?? 'unknown', authn: 'mtls' },
      target: { type: 'Workload', ref: use.principal, ancestors: new Set(kubernetes ? [entityRef('Namespace', kubernetes.namespace)] : []) },
      name: workload.name,
      groups: [],
      actor: undefined,
    },
  };
}

function workloadOf(principal: string): { id: SpiffeId; name: string } | undefined {
  const workload = /^Workload::"(spiffe:\/\/[^"\\]+)"$/.exec(principal);
  if (workload === null) return undefined;
  const parsed = SpiffeId.parse(workload[1]!);
  if (!parsed.ok) return undefined;
  const id = parsed.value;
  const kubernetes = id.kubernetesParts();
  return { id, name: kubernetes ? `${kubernetes.namespace}-${kubernetes.serviceAccount}` : id.path.split('/').filter(Boolean).join('-') || id.trustDomain };
}

function classOf(logged: string | undefined): WorkloadClass | undefined {
  return workloadClasses.find((known) => known === logged);
}
