import { SpiffeId } from '../core/spiffe-id.js';
import { describe, isRecord, quote, type FieldPath, type ReportProblem } from './yaml-fields.js';

/** A person the review covers, as an OIDC issuer's token names them (docs/reference.md, "Access review inventory"). */
export interface InventoryUser {
  /** As policies name the person: the issuer's `userPrefix` and the subject, e.g. `corp:alice`. */
  readonly id: string;
  /** `User::"corp:alice"`, as the decision log names it. */
  readonly principal: string;
  /** As policies name them, each with the issuer's `groupPrefix`. */
  readonly groups: readonly string[];
  /** The token issuer the probes carry (`principal.issuer`, `context.authn.issuer`); '' when not given. */
  readonly issuer: string;
}

/** Whom a workload may act for (Delegation): one person, every person of the inventory in a group, or another workload. */
export type ActsFor = { readonly kind: 'user'; readonly id: string } | { readonly kind: 'group'; readonly name: string } | { readonly kind: 'workload'; readonly spiffeId: SpiffeId };

const userKeys: ReadonlySet<string> = new Set(['id', 'groups', 'issuer']);
const actsForKinds = ['user', 'group', 'workload'] as const;
// Longer than any subject or group claim a real issuer sends, short enough to keep messages readable.
const maxName = 256;

export function readUser(entry: unknown, path: FieldPath, problem: ReportProblem): InventoryUser[] {
  if (!isRecord(entry)) {
    problem(path, 'must be a mapping with id and groups');
    return [];
  }
  let found = 0;
  const report: ReportProblem = (at, message) => {
    found += 1;
    problem(at, message);
  };
  for (const key of Object.keys(entry)) if (!userKeys.has(key)) report([...path, key], 'unknown key (expected id, groups or issuer)');
  const id = entry.id === undefined ? (report([...path, 'id'], 'is missing'), undefined) : nameOf(entry.id, [...path, 'id'], report);
  const groups: string[] = [];
  if (entry.groups !== undefined && entry.groups !== null) {
    if (!Array.isArray(entry.groups)) report([...path, 'groups'], `must be a list of group names (got ${describe(entry.groups)})`);
    else
      entry.groups.forEach((group: unknown, index) => {
        const name = nameOf(group, [...path, 'groups', index], report);
        if (name !== undefined && !groups.includes(name)) groups.push(name);
      });
  }
  const issuer = entry.issuer === undefined || entry.issuer === null ? '' : nameOf(entry.issuer, [...path, 'issuer'], report);
  if (id === undefined || issuer === undefined || found > 0) return [];
  return [Object.freeze({ id, principal: `User::${JSON.stringify(id)}`, groups: Object.freeze(groups), issuer })];
}

/** `actsFor: [{ user: alice }, { group: staff }, { workload: "spiffe://…" }]`; absent means nobody. */
export function readActsFor(value: unknown, path: FieldPath, problem: ReportProblem): ActsFor[] | undefined {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problem(path, `must be a list such as [{ group: staff }, { user: alice }] (got ${describe(value)})`);
    return undefined;
  }
  let ok = true;
  const entries = value.flatMap((entry: unknown, index): ActsFor[] => {
    const at = [...path, index];
    const keys = isRecord(entry) ? Object.keys(entry) : [];
    if (!isRecord(entry) || keys.length !== 1 || !(actsForKinds as readonly string[]).includes(keys[0]!)) {
      ok = false;
      problem(at, `must be one of { user: ID }, { group: NAME } or { workload: SPIFFE_ID } (got ${isRecord(entry) ? `the keys ${keys.join(', ') || 'none'}` : describe(entry)})`);
      return [];
    }
    const kind = keys[0] as (typeof actsForKinds)[number];
    const raw = entry[kind];
    if (kind === 'workload') {
      const parsed = typeof raw === 'string' ? SpiffeId.parse(raw) : undefined;
      if (parsed?.ok) return [{ kind, spiffeId: parsed.value }];
      ok = false;
      problem([...at, kind], parsed === undefined ? `must be a SPIFFE ID (got ${describe(raw)})` : `${parsed.reason} (got ${quote(raw)})`);
      return [];
    }
    const name = nameOf(raw, [...at, kind], problem);
    if (name === undefined) {
      ok = false;
      return [];
    }
    return [kind === 'user' ? { kind, id: name } : { kind, name }];
  });
  return ok ? entries : undefined;
}

/** A person's or group's name as policies spell it: any text but control characters, at most 256 characters. */
function nameOf(value: unknown, path: FieldPath, problem: ReportProblem): string | undefined {
  if (typeof value === 'string' && value !== '' && value.length <= maxName && !/\p{Cc}/u.test(value)) return value;
  problem(path, `must be a name of 1 to ${maxName} characters without control characters (got ${describe(value)})`);
  return undefined;
}
