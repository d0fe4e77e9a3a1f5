import type { WorkloadClass } from '../core/identity.js';
import { serviceFromRequest } from '../core/resource.js';
import type { PolicyEngine } from '../policy/cedar/engine.js';
import { probeRequest, probesFor, type MatrixOptions, type Probe } from './access-matrix.js';
import type { AnalyzedPolicy } from './analyzed-policy.js';
import type { AllowedUse } from './observed-paths.js';
import { collapsePaths, patternCondition, patternCovers, type PathPattern } from './path-patterns.js';
import { actionScopeMatches, entityRef, entityScopeMatches } from './policy-scope.js';
import { serviceTarget } from './review-identity.js';
import { suggestedCaller, type ActingWorkload, type KnownCallers, type SuggestedCaller } from './suggested-caller.js';

/** A permit granting one (principal, actor, service, action) exactly the use observed. */
export interface SuggestedPolicy {
  readonly id: string;
  readonly principal: string;
  /** The workload that acted for the principal: the permit holds only when it acts (`context.actor`). */
  readonly actor: ActingWorkload | undefined;
  /** A person's inventory groups, which the permit requires, and how the test cases name them. */
  readonly user: { readonly subject: string; readonly issuer: string; readonly groups: readonly string[] } | undefined;
  readonly service: string;
  readonly action: string;
  readonly patterns: readonly PathPattern[];
  readonly requests: number;
  readonly firstMs: number;
  readonly lastMs: number;
  /** Observed requests, replayed as `gatehouse test` cases; each allowed by the current set as written here. */
  readonly cases: readonly SuggestedCase[];
  /** The workload class the server logged, which the test cases state. */
  readonly class: WorkloadClass | undefined;
}

export interface SuggestedCase {
  /** Path and, when the current set needs them, query parameters. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface NotSuggested {
  readonly principal: string;
  readonly actor: string | undefined;
  readonly service: string;
  readonly action: string;
  readonly requests: number;
  readonly reason: string;
}

export interface Suggestion {
  readonly policies: readonly SuggestedPolicy[];
  readonly notSuggested: readonly NotSuggested[];
}

/**
 * For each allowed use, a permit for exactly that principal (through its actor, when one acted), service and action on the collapsed
 * observed paths, checked against the current set: on every representative request (the current
 * policies' paths and tags for the cell, the patterns' own paths, the observed examples) a request
 * the suggestion allows must be one the current set allows or forbids (the suggested set keeps
 * the current forbids). A suggestion that fails falls back to the exact paths observed; what still
 * fails, or cannot be named, is listed as not suggested, with why.
 */
export function suggestPolicies(engine: PolicyEngine, policies: readonly AnalyzedPolicy[], uses: readonly AllowedUse[], known: KnownCallers, options: MatrixOptions): Suggestion {
  const suggested: SuggestedPolicy[] = [];
  const notSuggested: NotSuggested[] = [];
  const ids = new Set<string>();
  const sorted = [...uses].sort((a, b) => compare(a.principal, b.principal) || compare(a.actor ?? '', b.actor ?? '') || compare(a.service, b.service) || compare(a.action, b.action));
  for (const use of sorted) {
    const skip = (reason: string): void => {
      notSuggested.push({ principal: use.principal, actor: use.actor, service: use.service, action: use.action, requests: use.requests, reason });
    };
    const resolved = suggestedCaller(use, known);
    if (!resolved.ok) {
      skip(resolved.reason);
      continue;
    }
    const caller = resolved.value;
    if (use.paths.length === 0) {
      skip('no allowed request had a path a policy can name');
      continue;
    }
    const service = serviceFromRequest(new Map([['service', use.service]]), '');
    const target = serviceTarget({ name: service.name, namespace: service.namespace });
    const relevant = policies.filter(
      (policy) => entityScopeMatches(policy.scope.principal, caller.target) && entityScopeMatches(policy.scope.resource, target) && actionScopeMatches(policy.scope.action, use.action),
    );
    const wider = (patterns: readonly PathPattern[]): Probe[] => {
      const probes = [...probesFor(relevant), ...patternProbes(patterns, use.examples)];
      return probes.filter((probe) => {
        if (!patterns.some((pattern) => patternCovers(pattern, probe.path))) return false;
        const answer = engine.authorizeAmong(
          relevant.map((policy) => policy.id),
          probeRequest(caller.identity, use.service, use.action, probe, options),
        );
        // Denied with no forbid deciding: no current permit allows it, and the suggestion would.
        return answer.decision === 'deny' && answer.determining.length === 0;
      });
    };
    let patterns = collapsePaths(use.paths);
    if (wider(patterns).length > 0 && use.paths.every((path) => !path.below)) patterns = use.paths.map((path): PathPattern => ({ kind: 'exact', path: path.path }));
    const failing = wider(patterns);
    if (failing.length > 0) {
      skip(
        `the current policies do not allow ${failing.map((probe) => probe.path).join(', ')} on every request the suggestion would: ` +
          'they test a header, query parameter or source the suggestion cannot state, or changed since',
      );
      continue;
    }
    const cases = use.examples.flatMap((path) => replay(engine, relevant, caller.identity, use, path, options));
    suggested.push({
      id: uniqueId(ids, `observed-${caller.name}-${use.service}-${use.action}`),
      principal: use.principal,
      actor: caller.actor,
      user: userOf(caller),
      service: use.service,
      action: use.action,
      patterns,
      requests: use.requests,
      firstMs: use.firstMs,
      lastMs: use.lastMs,
      cases,
      class: caller.identity.kind === 'workload' ? caller.identity.class : undefined,
    });
  }
  return { policies: suggested, notSuggested };
}

/**
 * The Cedar text of a suggested permit, before formatting. A person's permit also requires the
 * groups the inventory gives them, so it ends when they leave one, as a group's grant would; a
 * delegated one holds only when its actor acts, as docs/policies.md ("Delegation") writes it.
 */
export function suggestedPolicyText(policy: SuggestedPolicy): string {
  const paths = policy.patterns.map(patternCondition).join(' || ');
  const conditions = [
    ...(policy.user?.groups ?? []).map((group) => `principal in ${entityRef('Group', group)}`),
    ...(policy.actor === undefined ? [] : ['context has actor', `context.actor == ${policy.actor.principal}`]),
  ];
  return [
    `@id(${JSON.stringify(policy.id)})`,
    `@doc(${JSON.stringify(`observed ${policy.requests.toLocaleString('en')} ${policy.requests === 1 ? 'request' : 'requests'} ${day(policy.firstMs)}..${day(policy.lastMs)}`)})`,
    `permit (principal == ${policy.principal}, action == Action::${JSON.stringify(policy.action)}, resource == Service::${JSON.stringify(policy.service)})`,
    `when { ${conditions.length === 0 ? paths : [...conditions, paths.includes(' || ') ? `(${paths})` : paths].join(' && ')} };`,
  ].join('\n');
}

/** A request on each pattern (the route, a path under it) and each observed path. */
function patternProbes(patterns: readonly PathPattern[], examples: readonly string[]): Probe[] {
  const paths = patterns.flatMap((pattern) => (pattern.kind === 'exact' ? [pattern.path] : [pattern.path, `${pattern.path === '/' ? '' : pattern.path}/x`]));
  return [...new Set([...paths, ...examples])].map((path) => ({ path, condition: null, tags: [] }));
}

/**
 * An observed request as a test case: as logged, or with the headers and query parameters the
 * current policies test when it needs them (the log does not keep them). None when neither is allowed.
 */
function replay(engine: PolicyEngine, relevant: readonly AnalyzedPolicy[], identity: SuggestedCaller['identity'], use: AllowedUse, path: string, options: MatrixOptions): SuggestedCase[] {
  const tags = probesFor(relevant).find((probe) => probe.tags.length > 0)?.tags ?? [];
  for (const variant of tags.length === 0 ? [[]] : [[], tags]) {
    const probe: Probe = { path, condition: null, tags: variant };
    const answer = engine.authorizeAmong(
      relevant.map((policy) => policy.id),
      probeRequest(identity, use.service, use.action, probe, options),
    );
    if (answer.decision !== 'allow') continue;
    const query = new URLSearchParams(variant.filter((tag) => tag.on === 'query').map((tag): [string, string] => [tag.name, tag.value])).toString();
    const headers = Object.fromEntries(variant.filter((tag) => tag.on === 'headers').map((tag) => [tag.name, tag.value]));
    return [{ path: query === '' ? path : `${path}?${query}`, headers }];
  }
  return [];
}

function userOf(caller: SuggestedCaller): SuggestedPolicy['user'] {
  const { identity } = caller;
  return identity.kind === 'user' ? { subject: identity.subject, issuer: identity.issuer, groups: caller.groups } : undefined;
}

function uniqueId(taken: Set<string>, wanted: string): string {
  let id = wanted;
  for (let n = 2; taken.has(id); n++) id = `${wanted}-${n}`;
  taken.add(id);
  return id;
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
