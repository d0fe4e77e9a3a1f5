import type { DecisionTally } from '../observed-use.js';

/** How soon a finding wants a look: `high` may be an open door, `low` is tidying. */
export type Severity = 'high' | 'medium' | 'low';

export type OverBroadReason = 'any-principal' | 'any-resource' | 'build-namespace-access';

/** What every finding carries besides its `kind`; the other fields depend on the kind. */
interface FindingBase {
  readonly severity: Severity;
  /** One line. */
  readonly message: string;
}

export type Finding =
  | (FindingBase & {
      /** A grant (allow or conditional cell) no allowed decision used in the window: a least-privilege candidate. */
      readonly kind: 'unused-grant';
      readonly principal: string;
      readonly service: string;
      readonly unusedActions: readonly string[];
      /** Actions of the same grant that were used; empty when none was. */
      readonly usedActions: readonly string[];
      /** The permits that grant the unused actions. */
      readonly policies: readonly string[];
    })
  | (FindingBase & {
      /** An inventory workload with no decision in the window. */
      readonly kind: 'unseen-identity';
      readonly principal: string;
      readonly class: string;
      readonly namespace: string | null;
    })
  | (FindingBase & {
      /** A workload that made requests but is not in the inventory. */
      readonly kind: 'unknown-identity';
      readonly principal: string;
    } & DecisionTally)
  | (FindingBase & {
      /** A service that received requests but is not in the inventory: the matrix never covered it. */
      readonly kind: 'unknown-service';
      readonly service: string;
      /** Distinct principals that called it. */
      readonly callers: number;
      /** The busiest callers, at most five. */
      readonly topCallers: readonly string[];
    } & DecisionTally)
  | (FindingBase & {
      /** An inventory workload the server logged with another class than the inventory's. */
      readonly kind: 'class-mismatch';
      readonly principal: string;
      readonly inventoryClass: string;
      /** Decisions by the class the server logged, the inventory's own among them when it was logged too. */
      readonly loggedClasses: Readonly<Record<string, number>>;
    })
  | (FindingBase & {
      /** An inventory workload that acted for others, logged as the actor with another class than the inventory's. */
      readonly kind: 'actor-class-mismatch';
      readonly actor: string;
      readonly inventoryClass: string;
      /** Acting-for decisions by the actor class the server logged, the inventory's own among them when it was logged too. */
      readonly loggedClasses: Readonly<Record<string, number>>;
    })
  | (FindingBase & {
      /** A principal denied at least the threshold number of times: misconfiguration or probing. */
      readonly kind: 'repeated-denies';
      readonly principal: string;
      readonly denies: number;
      readonly allows: number;
      readonly threshold: number;
      readonly inInventory: boolean;
      readonly denyReasons: Readonly<Record<string, number>>;
      /** The (service, action) pairs denied most, at most five. */
      readonly topTargets: readonly { service: string; action: string; denies: number }[];
      readonly firstSeen: string;
      readonly lastSeen: string;
    })
  | (FindingBase & {
      /** A build job or an agent that exercised a person's write access: allowed writes with a `User` principal and it as the actor. */
      readonly kind: 'delegated-write';
      readonly actor: string;
      readonly actorClass: string;
      readonly principal: string;
      readonly service: string;
      /** The write actions allowed, with how many times each. */
      readonly actions: readonly { readonly action: string; readonly allow: number }[];
      readonly allows: number;
      readonly firstSeen: string;
      readonly lastSeen: string;
    })
  | (FindingBase & {
      /** A policy that determined no decision in the window. */
      readonly kind: 'idle-policy';
      readonly policy: string;
      readonly effect: 'permit' | 'forbid';
      readonly file: string;
      readonly line: number;
    })
  | (FindingBase & {
      /** A permit whose scope leaves the principal or the resource open, or that gives a build identity a whole namespace. */
      readonly kind: 'over-broad-policy';
      readonly policy: string;
      readonly file: string;
      readonly line: number;
      readonly reasons: readonly OverBroadReason[];
      /** For `build-namespace-access`: the build-class identities the permit grants to. */
      readonly buildIdentities: readonly string[];
    });

export type FindingKind = Finding['kind'];

export const findingKinds: readonly FindingKind[] = [
  'over-broad-policy',
  'delegated-write',
  'class-mismatch',
  'actor-class-mismatch',
  'repeated-denies',
  'unknown-identity',
  'unknown-service',
  'unused-grant',
  'unseen-identity',
  'idle-policy',
];

const severityRank: Readonly<Record<Severity, number>> = { high: 0, medium: 1, low: 2 };

/** Most severe first, then by kind in `findingKinds` order; within a kind the finder's order is kept. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return findings
    .map((finding, index) => ({ finding, index }))
    .sort((a, b) => severityRank[a.finding.severity] - severityRank[b.finding.severity] || findingKinds.indexOf(a.finding.kind) - findingKinds.indexOf(b.finding.kind) || a.index - b.index)
    .map(({ finding }) => finding);
}
