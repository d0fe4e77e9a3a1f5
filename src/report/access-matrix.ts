import type { CedarRequest } from '../core/cedar-request.js';
import type { Identity } from '../core/identity.js';
import type { RequestSubject } from '../core/parse-request.js';
import type { RequestFacts } from '../core/request-facts.js';
import { namedService } from '../core/resource.js';
import type { PolicyEngine } from '../policy/cedar/engine.js';
import { buildCedarRequest } from '../policy/entities.js';
import type { AnalyzedPolicy } from './analyzed-policy.js';
import type { InventoryService } from './inventory.js';
import { actionScopeMatches, entityScopeMatches } from './policy-scope.js';
import { neutralPath, type PathProbe, type TagProbe } from './request-probes.js';
import { serviceTarget, type ReviewIdentity } from './review-identity.js';

/** The methods the matrix covers: every action of the schema's `read` and `write` groups. */
export const matrixActions = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type MatrixAction = (typeof matrixActions)[number];

export type Access = 'allow' | 'conditional' | 'deny';

/** One representative request of a cell: a path, and the headers or query parameters it carried. */
export interface Probe {
  readonly path: string;
  /** The policy condition the path was made for, e.g. `like "/api/orders/*"`; null for the neutral path `/`. */
  readonly condition: string | null;
  readonly tags: readonly TagProbe[];
}

/** A cell whose access is not `deny`; every cell the matrix does not list is a deny. */
export interface MatrixCell {
  readonly principal: string;
  readonly service: string;
  readonly action: MatrixAction;
  readonly access: 'allow' | 'conditional';
  /** The permits that allowed at least one representative request, in policy-set order. */
  readonly policies: readonly string[];
  /** For `conditional`: the representative requests Cedar allowed, and those it denied. Empty for `allow`. */
  readonly allowedWhen: readonly Probe[];
  readonly deniedWhen: readonly Probe[];
}

export interface EvaluationError {
  readonly principal: string;
  readonly service: string;
  readonly action: string;
  readonly path: string;
  readonly policy: string;
  readonly message: string;
}

export interface AccessMatrix {
  readonly cells: readonly MatrixCell[];
  /** Cedar calls made; cells no permit's scope reaches are denied without one. */
  readonly evaluations: number;
  /** Policy evaluation errors met on representative requests (the first 100). */
  readonly errors: readonly EvaluationError[];
}

export interface MatrixOptions {
  /** Source address of the representative requests; policies may test `context.source.ip`. */
  readonly sourceIp: string;
}

const maxErrors = 100;

/** Cedar's answer to one representative request of a cell. */
export interface ProbeAnswer {
  readonly probe: Probe;
  readonly decision: 'allow' | 'deny';
  /** The permits of an allow, the forbids of a deny; none for a default deny. */
  readonly determining: readonly string[];
}

/** A cell some permit's scope reaches, with Cedar's answer to each of its representative requests. */
export interface ProbedCell {
  readonly principal: string;
  /** The workload acting for the principal, for a delegation row; absent for the principal's own requests. */
  readonly actor?: string;
  readonly service: string;
  readonly action: MatrixAction;
  readonly answers: readonly ProbeAnswer[];
}

export interface ProbeOptions extends MatrixOptions {
  /**
   * The policies whose path and tag tests make the representative requests; default: the set's
   * own. Two sets given the same list (both sets' policies) are asked the very same requests
   * (`gatehouse diff`). Only the set's own policies are evaluated.
   */
  readonly probePolicies?: readonly AnalyzedPolicy[];
}

/**
 * For every identity × service × action, asks Cedar about representative requests: the neutral
 * path `/`, a path for every path condition of the policies whose scope reaches the cell, each
 * once without and once with the headers and query parameters those policies test. `allow` when
 * every one is allowed, `conditional` when some are, `deny` when none is or no permit's scope
 * reaches the cell at all. Cedar is given only the policies whose scope reaches the cell: the
 * others cannot change its answer, and its cost grows with every policy it is given.
 */
export function computeAccessMatrix(
  engine: PolicyEngine,
  policies: readonly AnalyzedPolicy[],
  identities: readonly ReviewIdentity[],
  services: readonly InventoryService[],
  options: MatrixOptions,
): AccessMatrix {
  const cells: MatrixCell[] = [];
  const { evaluations, errors } = probeCells(engine, policies, identities, services, options, (probed) => {
    const allowed = probed.answers.filter((answer) => answer.decision === 'allow');
    if (allowed.length === 0) return;
    const denied = probed.answers.filter((answer) => answer.decision === 'deny').map((answer) => answer.probe);
    const granting = new Set(allowed.flatMap((answer) => answer.determining));
    const access = denied.length === 0 ? 'allow' : 'conditional';
    cells.push({
      principal: probed.principal,
      service: probed.service,
      action: probed.action,
      access,
      policies: policies.filter((policy) => granting.has(policy.id)).map((policy) => policy.id),
      allowedWhen: access === 'allow' ? [] : allowed.map((answer) => answer.probe),
      deniedWhen: denied,
    });
  });
  return { cells, evaluations, errors };
}

/**
 * The evaluation under `computeAccessMatrix`: calls `onCell` with every answer of every cell some
 * permit's scope reaches (any cell not passed to it is a deny without asking Cedar).
 */
export function probeCells(
  engine: PolicyEngine,
  policies: readonly AnalyzedPolicy[],
  identities: readonly ReviewIdentity[],
  services: readonly InventoryService[],
  options: ProbeOptions,
  onCell: (cell: ProbedCell) => void,
): { evaluations: number; errors: EvaluationError[] } {
  const errors: EvaluationError[] = [];
  let evaluations = 0;
  const sources = options.probePolicies;
  const serviceScopes = services.map((service) => {
    const target = serviceTarget(service);
    return new Set([...policies, ...(sources ?? [])].filter((policy) => entityScopeMatches(policy.scope.resource, target)));
  });

  for (const identity of identities) {
    const forPrincipal = policies.filter((policy) => entityScopeMatches(policy.scope.principal, identity.target));
    if (!forPrincipal.some(isPermit)) continue;
    const sourcesForPrincipal = sources === undefined ? forPrincipal : sources.filter((policy) => entityScopeMatches(policy.scope.principal, identity.target));
    services.forEach((service, index) => {
      const forPair = forPrincipal.filter((policy) => serviceScopes[index]!.has(policy));
      if (!forPair.some(isPermit)) return;
      const sourcesForPair = sourcesForPrincipal.filter((policy) => serviceScopes[index]!.has(policy));
      for (const action of matrixActions) {
        const relevant = forPair.filter((policy) => actionScopeMatches(policy.scope.action, action));
        if (!relevant.some(isPermit)) continue;
        const probes = probesFor(sourcesForPair.filter((policy) => actionScopeMatches(policy.scope.action, action)));
        const ids = relevant.map((policy) => policy.id);
        const answers: ProbeAnswer[] = [];
        for (const probe of probes) {
          evaluations += 1;
          const answer = engine.authorizeAmong(ids, probeRequest(identity.identity, service.name, action, probe, options));
          for (const error of answer.errors) {
            if (errors.length < maxErrors) errors.push({ principal: identity.principal, service: service.name, action, path: probe.path, policy: error.policy, message: error.message });
          }
          answers.push({ probe, decision: answer.decision, determining: answer.determining });
        }
        onCell({ principal: identity.principal, ...(identity.actor === undefined ? {} : { actor: identity.actor }), service: service.name, action, answers });
      }
    });
  }
  return { evaluations, errors };
}

/** The representative requests of a cell whose scope-matching policies are `relevant`. */
export function probesFor(relevant: readonly AnalyzedPolicy[]): Probe[] {
  const paths = new Map<string, PathProbe>([[neutralPath.path, neutralPath]]);
  const tags = new Map<string, TagProbe>();
  for (const policy of relevant) {
    for (const probe of policy.probes.paths) if (!paths.has(probe.path)) paths.set(probe.path, probe);
    for (const tag of policy.probes.tags) {
      const key = `${tag.on}\n${tag.name}`;
      if (!tags.has(key)) tags.set(key, tag);
    }
  }
  const variants: TagProbe[][] = tags.size === 0 ? [[]] : [[], [...tags.values()]];
  return [...paths.values()].flatMap((path) => variants.map((variant) => ({ path: path.path, condition: path.condition, tags: variant })));
}

/** The key of one matrix cell: caller × service × action. */
export function cellKey(principal: string, service: string, action: string): string {
  return `${principal}\n${service}\n${action}`;
}

function isPermit(policy: AnalyzedPolicy): boolean {
  return policy.effect === 'permit';
}

function queryOf(probe: Probe): string {
  const query = probe.tags.filter((tag) => tag.on === 'query').map((tag): [string, string] => [tag.name, tag.value]);
  return new URLSearchParams(query).toString();
}

const noPeer = Object.freeze({ address: '', port: 0, principal: '', certificate: '' });

/** The Cedar request of one representative request, built as `serve` builds a mesh call's. */
export function probeRequest(identity: Identity, service: string, action: string, probe: Probe, options: MatrixOptions): CedarRequest {
  return buildCedarRequest(identity, probeSubject(service, action, probe), probeFacts(service, action, probe, options));
}

/** The request facts of a representative request, shaped as decode.ts would produce them for a mesh call. */
/** A probe is a request the policies themselves spell, so its path is taken as written, not normalized. */
function probeSubject(service: string, action: string, probe: Probe): RequestSubject {
  const named = namedService(service);
  return { requestId: '', method: action, path: probe.path, query: queryOf(probe), service: named, destination: undefined, trustedNamespace: named.namespace };
}

function probeFacts(service: string, action: string, probe: Probe, options: MatrixOptions): RequestFacts {
  const query = queryOf(probe);
  return {
    requestId: '',
    streamId: '',
    method: action,
    rawPath: query === '' ? probe.path : `${probe.path}?${query}`,
    host: service,
    scheme: 'https',
    protocol: 'HTTP/1.1',
    headers: new Map(probe.tags.filter((tag) => tag.on === 'headers').map((tag) => [tag.name.toLowerCase(), tag.value])),
    repeatedHeaders: new Set(),
    source: { address: options.sourceIp, port: 0, principal: '', certificate: '' },
    destination: noPeer,
    contextExtensions: new Map([['service', service]]),
    sni: '',
    problems: [],
  };
}
