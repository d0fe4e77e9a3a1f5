import type { Decision } from '../core/decision.js';
import { authnMethodOf, principalName, type AuthnResult, type Identity } from '../core/identity.js';
import type { RequestFacts } from '../core/request-facts.js';
import type { PolicyInfo } from '../policy/cedar/engine.js';
import type { ClauseTrace, PermitTrace } from '../policy/cedar/trace.js';
import type { CedarRequest } from '../core/cedar-request.js';
import { comments, conditionClauses } from '../policy/policy-source.js';
import type { PolicyReads } from '../policy/reads.js';
import type { ScopeMiss } from './scope-miss.js';

/** Everything `gatehouse check` knows about one decision, to be explained to a policy author. */
export interface Explanation {
  readonly facts: RequestFacts;
  /** Undefined when the request was refused before identity was looked at. */
  readonly authn: AuthnResult | undefined;
  readonly decision: Decision;
  readonly policies: readonly PolicyInfo[];
  /** The request Cedar evaluated; undefined when the request was refused before evaluation. */
  readonly cedarRequest: CedarRequest | undefined;
  /** Permits whose scope matched (for a deny), or why they could not be traced. */
  readonly permits: { ok: true; permits: readonly PermitTrace[] } | { ok: false; message: string } | undefined;
  /** Permits off the request in one scope part only (for a deny), or why they could not be traced. */
  readonly scopeMisses: { ok: true; misses: readonly ScopeMiss[] } | { ok: false; message: string } | undefined;
  /** What the policy set reads: the context attributes it does not were blanked for Cedar. */
  readonly reads: PolicyReads;
  readonly notes: readonly string[];
  /** Leave out the Cedar request dump. */
  readonly brief: boolean;
}

/**
 * The explanation `gatehouse check` prints: the decision and the policies that made it, the
 * principal, action, resource and context as Cedar saw them, for a deny the permits that nearly
 * applied and the condition that stopped each, and the exact Cedar request.
 */
export function explain(input: Explanation): string {
  const { decision, facts } = input;
  const byId = new Map(input.policies.map((policy) => [policy.id, policy]));
  const where = (id: string): string => {
    const policy = byId.get(id);
    return policy ? `${policy.file}:${policy.line}` : '';
  };
  const lines: string[] = [];
  const field = (name: string, value: string): void => {
    lines.push(`${`${name}:`.padEnd(11)}${value}`);
  };

  field('request', `${facts.method || '(no method)'} ${facts.host || '(no host)'} ${facts.rawPath || '(no path)'}${facts.requestId ? `  (x-request-id ${facts.requestId})` : ''}`);
  field('decision', decisionLine(decision));
  const determining = decision.kind === 'unavailable' ? [] : decision.policies;
  if (determining.length > 0) {
    const width = Math.max(...determining.map((id) => id.length));
    determining.forEach((id, index) => field(index === 0 ? 'policies' : '', `${id.padEnd(width)}  ${where(id)}`));
  } else {
    field('policies', input.cedarRequest ? 'none (no permit applied: default deny)' : 'none (refused before policy evaluation)');
  }
  for (const error of decision.kind === 'unavailable' ? [] : decision.errors) field('error', `${error.policy || '(request)'}: ${error.message}`);
  lines.push('');

  field('principal', principalLine(decision, input.authn));
  field('action', decision.subject.action ? `Action::${JSON.stringify(decision.subject.action)}` : '(none: the request names no method)');
  const resource = decision.subject.resource;
  field('resource', resource ? `Service::${JSON.stringify(resource)}${decision.subject.resourceNamespace ? ` in Namespace::${JSON.stringify(decision.subject.resourceNamespace)}` : ''}` : '(none: the request names no host or service)');
  if (input.cedarRequest) {
    const { shown, unread } = contextAsRead(input.cedarRequest.context, input.reads);
    field('context', JSON.stringify(shown));
    if (unread.length > 0) field('unread', `${unread.join(', ')}: not read by any policy (blank in the Cedar request)`);
  }
  for (const note of input.notes) lines.push(`note: ${note}`);

  if (input.permits && decision.kind === 'deny') lines.push('', ...permitSection(input.permits, determining.length > 0, byId, where));
  if (input.scopeMisses && decision.kind === 'deny') lines.push('', ...scopeSection(input.scopeMisses, where));

  if (input.brief) return `${lines.join('\n')}\n`;
  lines.push('');
  if (input.cedarRequest) {
    lines.push('Cedar request (from buildCedarRequest, as evaluated; what no policy reads is blank or left out):', JSON.stringify(input.cedarRequest, null, 2));
  } else {
    lines.push('Cedar was not consulted: the request was refused before policy evaluation.');
  }
  return `${lines.join('\n')}\n`;
}

function decisionLine(decision: Decision): string {
  switch (decision.kind) {
    case 'allow':
      return 'ALLOW';
    case 'deny': {
      const status = decision.status === 'unauthenticated' ? '401' : '403';
      const dryRun = decision.dryRun ? '  (dry-run: Envoy is answered allow; logged as a deny)' : '';
      return `DENY  ${status} ${decision.code}: ${decision.reason}${dryRun}`;
    }
    case 'unavailable':
      return `UNAVAILABLE  ${decision.code}: ${decision.reason}`;
    default: {
      const never: never = decision;
      return never;
    }
  }
}

function principalLine(decision: Decision, authn: AuthnResult | undefined): string {
  const identity = decision.kind === 'unavailable' ? undefined : (decision.identity ?? (authn?.ok ? authn.identity : undefined));
  if (identity) return `${principalName(identity)}  (${identityDetail(identity)})`;
  if (authn === undefined) return '(not identified: the request was refused before its credentials were read)';
  return authn.ok ? '(none)' : `(none: the ${authn.authn === 'jwt' ? 'token' : 'credential'} was refused: ${authn.code}: ${authn.detail})`;
}

function identityDetail(identity: Identity): string {
  switch (identity.kind) {
    case 'workload': {
      const issuer = identity.issuer ? `, issuer ${identity.issuer}` : '';
      return `authn ${authnMethodOf(identity)}${issuer}, class ${JSON.stringify(identity.class)}`;
    }
    case 'user':
      return `authn jwt, issuer ${identity.issuer}, groups [${identity.groups.join(', ')}]`;
    case 'anonymous':
      return 'no credential';
    default: {
      const never: never = identity;
      return never;
    }
  }
}

function permitSection(
  traced: NonNullable<Explanation['permits']>,
  forbidden: boolean,
  byId: ReadonlyMap<string, PolicyInfo>,
  where: (id: string) => string,
): string[] {
  if (!traced.ok) return [`near misses: could not be traced: ${traced.message}`];
  const overridden = traced.permits.filter((permit) => permit.satisfied);
  if (forbidden && overridden.length > 0) {
    return ['overridden: permits that applied, but a forbid wins', ...overridden.map((permit) => `  ${permit.id}  ${where(permit.id)}`)];
  }
  const misses = traced.permits.filter((permit) => !permit.satisfied);
  if (misses.length === 0) return ["near misses: none (no permit's principal, action and resource match this request)"];
  const lines = ['near misses: permits whose principal, action and resource matched, stopped by a condition'];
  for (const permit of misses) {
    lines.push(`  ${permit.id}  ${where(permit.id)}`);
    const policy = byId.get(permit.id);
    const written = policy ? conditionClauses(policy.text) : [];
    for (const clause of permit.clauses) {
      const found = written.length === permit.clauses.length ? written[clause.index] : undefined;
      const line = policy && found ? `${policy.file}:${policy.line + countNewlines(policy.text.slice(0, found.start))}  ` : '';
      // As written when that reads well on one line; a clause with comments in it as Cedar prints it.
      const text = found && comments(found.text).length === 0 ? oneLine(found.text) : `${clause.kind} { ${clause.text} }`;
      lines.push(`    ${clause.holds ? '✓' : '✗'} ${line}${text}`, ...(clause.holds ? [] : [`        ${verdict(clause)}`]));
    }
  }
  return lines;
}

const maxScopeMisses = 5;

function scopeSection(traced: NonNullable<Explanation['scopeMisses']>, where: (id: string) => string): string[] {
  if (!traced.ok) return [`scope misses: could not be traced: ${traced.message}`];
  if (traced.misses.length === 0) return ['scope misses: none (no permit differs from this request in only its principal, action or resource)'];
  // Nearest first, and only a few: in a large set most permits differ in one part from any request.
  const shown = traced.misses.slice(0, maxScopeMisses);
  const more = traced.misses.length - shown.length;
  return [
    'scope misses: permits that differ from this request in only their principal, action or resource (nearest first)',
    ...shown.flatMap((miss) => [`  ${miss.id}  ${where(miss.id)}`, `    ✗ ${miss.explanation}`]),
    ...(more > 0 ? [`  … and ${more} more`] : []),
  ];
}

/** Context attributes a policy can read by name; the rest of the context is shown as it is. */
const namedContext = ['path', 'method', 'host', 'scheme', 'authn'] as const;

/**
 * The context as policies read it. An attribute no policy reads is blanked so that requests
 * differing only there decide alike (and share a cache entry); shown as "" it would look like the
 * request had no method or host, so it is named apart instead.
 */
function contextAsRead(context: CedarRequest['context'], reads: PolicyReads): { shown: Record<string, unknown>; unread: string[] } {
  const unread = namedContext.filter((name) => !reads.context.has(name));
  const shown = Object.fromEntries(Object.entries(context).filter(([name]) => !(unread as readonly string[]).includes(name)));
  return { shown, unread };
}

function verdict(clause: ClauseTrace): string {
  if (clause.error !== undefined) return `could not be evaluated: ${clause.error}`;
  const value = clause.kind === 'when' ? 'false' : 'true';
  return clause.decidedBy === undefined ? `is ${value}` : `is ${value}: ${clause.decidedBy} is ${value}`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

function countNewlines(text: string): number {
  return text.split('\n').length - 1;
}
