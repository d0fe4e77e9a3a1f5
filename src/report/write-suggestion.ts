import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { workloadClasses, type WorkloadClass } from '../core/identity.js';
import { PolicyEngine } from '../policy/cedar/engine.js';
import { formatPolicyText } from '../policy/cedar/format.js';
import { schemaFileName } from '../policy/loader.js';
import { formatProblem } from '../policy/problem.js';
import type { NotSuggested, SuggestedPolicy, Suggestion } from './suggest-policies.js';
import { suggestedPolicyText } from './suggest-policies.js';
import { patternCovers } from './path-patterns.js';

export const suggestionNames = { policies: 'observed.cedar', guards: 'guards.cedar', tests: join('tests', 'observed.yaml') } as const;

export interface WrittenSuggestion {
  readonly files: readonly string[];
  readonly policies: number;
  readonly notSuggested: readonly NotSuggested[];
  /** Unobserved matrix cells written as `deny` cases, and those left out past the bound. */
  readonly denyCases: number;
  readonly denyCasesOmitted: number;
}

/** A cell of the inventory matrix (identity × service × method) with no allowed use of the principal's own in the window. */
export interface UnobservedCell {
  /** `Workload::"spiffe://…"`, `User::"…"` or `Anonymous::"anonymous"`. */
  readonly principal: string;
  readonly class: string;
  /** A person's subject, issuer and groups, as the inventory gives them. */
  readonly user?: { readonly subject: string; readonly issuer: string; readonly groups: readonly string[] };
  readonly service: string;
  readonly action: string;
}

/** A test file of hundreds of thousands of cases helps nobody: past this, unobserved cells are counted, not written. */
export const maxDenyCases = 10_000;

/**
 * Writes the suggested set to `dir`: the suggested permits, the current set's forbids (they keep
 * guarding what the permits allow), the schema, and a test file replaying the observed requests.
 * The set is validated by the engine first; a suggested permit the schema refuses (a method it
 * does not declare) is left out and listed, never written.
 */
export async function writeSuggestion(dir: string, current: PolicyEngine, suggestion: Suggestion, sourceIp: string, unobserved: readonly UnobservedCell[] = []): Promise<WrittenSuggestion> {
  const guards = guardsText(current);
  let kept = [...suggestion.policies];
  const notSuggested = [...suggestion.notSuggested];
  let policiesText = policyFileText(kept, notSuggested);
  const prepared = prepare(dir, current, policiesText, guards);
  if (!prepared.ok) {
    const refused = new Map(prepared.problems.filter((problem) => problem.severity === 'error' && problem.policy !== undefined).map((problem) => [problem.policy!, formatProblem(problem)]));
    for (const policy of kept.filter((candidate) => refused.has(candidate.id))) {
      notSuggested.push({ principal: policy.principal, actor: policy.actor?.principal, service: policy.service, action: policy.action, requests: policy.requests, reason: `invalid against the schema: ${refused.get(policy.id)!}` });
    }
    kept = kept.filter((policy) => !refused.has(policy.id));
    policiesText = policyFileText(kept, notSuggested);
    const again = prepare(dir, current, policiesText, guards);
    if (!again.ok) throw new Error(`the suggested policies do not validate:\n${again.problems.map(formatProblem).join('\n')}`);
  }
  await mkdir(join(dir, 'tests'), { recursive: true });
  const files = [join(dir, suggestionNames.policies), join(dir, suggestionNames.guards), join(dir, schemaFileName), join(dir, suggestionNames.tests)];
  await Promise.all([writeFile(files[0]!, policiesText), writeFile(files[1]!, guards), writeFile(files[2]!, current.schemaText), writeFile(files[3]!, testFileText(kept, sourceIp, unobserved))]);
  const denyCases = Math.min(unobserved.length, maxDenyCases);
  return { files, policies: kept.length, notSuggested, denyCases, denyCasesOmitted: unobserved.length - denyCases };
}

function policyFileText(policies: readonly SuggestedPolicy[], notSuggested: readonly NotSuggested[]): string {
  const header = [
    '// Suggested by gatehouse report --suggest: each permit grants one caller one method on one',
    '// service, on the paths the decision log shows it used. Review before replacing your permits.',
    ...(notSuggested.length === 0 ? [] : ['//', '// Allowed use not suggested:', ...notSuggested.slice(0, 100).map((skip) => `//   ${oneLine(`${skip.principal}${skip.actor === undefined ? '' : ` through ${skip.actor}`} ${skip.service} ${skip.action} (${skip.requests} requests): ${skip.reason}`)}`)]),
    ...(notSuggested.length > 100 ? [`//   … and ${notSuggested.length - 100} more`] : []),
  ].join('\n');
  const text = `${header}\n\n${policies.map(suggestedPolicyText).join('\n\n')}\n`;
  const formatted = formatPolicyText(text);
  if (!formatted.ok) throw new Error(`Cedar's formatter refused the suggested policies: ${formatted.message}`);
  return formatted.text;
}

function guardsText(current: PolicyEngine): string {
  const forbids = current.policies.filter((policy) => policy.effect === 'forbid');
  const header = '// The current set\'s forbids, as written: they keep guarding what the suggested permits allow.';
  return `${header}\n${forbids.map((policy) => `\n// ${policy.file}:${policy.line}\n${policy.text}\n`).join('')}`;
}

function prepare(dir: string, current: PolicyEngine, policies: string, guards: string): ReturnType<typeof PolicyEngine.prepare> {
  return PolicyEngine.prepare({
    files: [
      { name: join(dir, suggestionNames.guards), text: guards },
      { name: join(dir, suggestionNames.policies), text: policies },
    ],
    schemaText: current.schemaText,
    schemaFile: join(dir, schemaFileName),
  });
}

/**
 * The cases come from the source address the suggestion was checked from: policies may test it.
 * Observed requests expect `allow`; each unobserved cell of the inventory matrix expects `deny`,
 * on a path its caller was seen using on that service with another method (else one anyone used
 * there, else `/`): the suggestion grants a method only where it was used.
 */
function testFileText(policies: readonly SuggestedPolicy[], sourceIp: string, unobserved: readonly UnobservedCell[]): string {
  const cases = policies.flatMap((policy) =>
    policy.cases.map((replayed) => ({
      name: `${policy.id} ${replayed.path}`,
      ...callerKeys(policy),
      method: policy.action,
      path: replayed.path,
      service: policy.service,
      ...(Object.keys(replayed.headers).length === 0 ? {} : { headers: replayed.headers }),
      sourceIp,
      expect: 'allow',
      policies: [policy.id, ...ownPermitsOf(policies, policy, replayed.path)],
    })),
  );
  const callerPath = new Map<string, string>();
  const servicePath = new Map<string, string>();
  for (const policy of policies) {
    const path = policy.cases[0]?.path.split('?')[0];
    if (path === undefined) continue;
    if (!callerPath.has(`${policy.principal} ${policy.service}`)) callerPath.set(`${policy.principal} ${policy.service}`, path);
    if (!servicePath.has(policy.service)) servicePath.set(policy.service, path);
  }
  const denied = unobserved.slice(0, maxDenyCases).map((cell) => {
    const workload = /^Workload::"(.*)"$/.exec(cell.principal);
    const caller = cell.user !== undefined ? { user: userKeys(cell.user) } : workload === null ? { anonymous: true } : { spiffe: workload[1]!, ...(isWorkloadClass(cell.class) ? { class: cell.class } : {}) };
    const path = callerPath.get(`${cell.principal} ${cell.service}`) ?? servicePath.get(cell.service) ?? '/';
    return { name: `unobserved ${cell.principal} ${cell.service} ${cell.action}`, ...caller, method: cell.action, path, service: cell.service, sourceIp, expect: 'deny' };
  });
  const omitted = unobserved.length - denied.length;
  const header = [
    '# Observed allowed requests, replayed against the suggested policies (gatehouse test), then one',
    '# request per unobserved cell of the inventory matrix (identity × service × method), denied.',
    ...(omitted > 0 ? [`# ${omitted} more unobserved cells are not written (at most ${maxDenyCases} deny cases).`] : []),
  ].join('\n');
  return `${header}\n${stringify({ cases: [...cases, ...denied] }, { lineWidth: 0 })}`;
}

/**
 * A principal's own permit (no actor in it) also holds when a workload acts for the principal, as
 * the current set's permits that do not read `context.actor` do: a delegated case names it too.
 */
function ownPermitsOf(policies: readonly SuggestedPolicy[], delegated: SuggestedPolicy, target: string): string[] {
  if (delegated.actor === undefined) return [];
  const path = target.split('?')[0]!;
  return policies
    .filter((own) => own.actor === undefined && own.principal === delegated.principal && own.service === delegated.service && own.action === delegated.action)
    .filter((own) => own.patterns.some((pattern) => patternCovers(pattern, path)))
    .map((own) => own.id);
}

function isWorkloadClass(value: string): value is WorkloadClass {
  return (workloadClasses as readonly string[]).includes(value);
}

/** The case's caller, and the workload acting for it as a token's `act` claim would name it. */
function callerKeys(policy: SuggestedPolicy): Record<string, unknown> {
  const actor = policy.actor === undefined ? {} : { actor: policy.actor.spiffeId.toString(), actorClass: policy.actor.class };
  if (policy.user !== undefined) return { user: userKeys(policy.user), ...actor };
  const workload = /^Workload::"(.*)"$/.exec(policy.principal);
  if (workload === null) return { anonymous: true };
  return { spiffe: workload[1]!, ...(policy.class === undefined ? {} : { class: policy.class }), ...actor };
}

function userKeys(user: NonNullable<SuggestedPolicy['user']>): Record<string, unknown> {
  return { subject: user.subject, ...(user.issuer === '' ? {} : { issuer: user.issuer }), groups: [...user.groups] };
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}
