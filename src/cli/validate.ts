import { parseArgs } from 'node:util';
import { SpiffeId } from '../core/spiffe-id.js';
import { PolicyEngine } from '../policy/cedar/engine.js';
import { readPolicyDir } from '../policy/loader.js';
import { entityLiterals } from '../policy/policy-source.js';
import { formatProblem, type PolicyProblem } from '../policy/problem.js';
import { LineIndex } from '../policy/source-position.js';
import type { PolicySetInput } from '../policy/version.js';
import { usage, type CommandResult } from './command.js';

const help = `gatehouse validate [--policies DIR]
  parses every *.cedar file of DIR (default ./policies) and validates each policy strictly
  against DIR/schema.cedarschema; prints every problem as FILE:LINE:COL: message on stderr,
  warnings marked 'warning:' (a policy that can never apply is a warning)
exit 0 valid (warnings allowed), 1 invalid, 2 usage error`;

export async function validate(argv: string[]): Promise<CommandResult> {
  const { values } = parseArgs({
    args: argv,
    options: {
      policies: { type: 'string', default: './policies' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return usage(help, 0);
  const dir = values.policies;
  const read = await readPolicyDir(dir);
  if (!read.ok) return { code: 1, err: `${read.problems.map(formatProblem).join('\n')}\n` };

  const prepared = await PolicyEngine.load(read.input);
  const found = prepared.ok ? prepared.engine.warnings : withoutFollowOnWarnings(prepared.problems);
  const problems = sortProblems(mergeByAction([...found, ...unmatchableEntities(read.input)]));
  const errors = problems.filter((problem) => problem.severity === 'error').length;
  const warnings = problems.length - errors;
  const listed = problems.length > 0 ? `${problems.map(formatProblem).join('\n')}\n` : '';
  if (!prepared.ok) return { code: 1, err: `${listed}${dir}: invalid: ${count(errors, 'error')}, ${count(warnings, 'warning')}\n` };
  const policies = count(prepared.engine.policies.length, 'policy', 'policies');
  return { code: 0, out: `${dir}: ${policies} valid${warnings > 0 ? `, ${count(warnings, 'warning')}` : ''}\n`, err: listed };
}

/**
 * Entity literals no request can ever produce, which strict validation cannot see because the
 * schema types ids only as strings: a workload is always named by a SPIFFE ID, and there is one
 * anonymous principal. A policy naming anything else in its scope can never apply.
 */
function unmatchableEntities(input: PolicySetInput): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  for (const file of input.files) {
    const lines = new LineIndex(file.text);
    for (const literal of entityLiterals(file.text)) {
      const reason = unmatchable(literal.type, literal.id);
      if (reason === undefined) continue;
      const { line, col } = lines.at(literal.start);
      problems.push({ file: file.name, line, col, severity: 'warning', message: `${literal.type}::${JSON.stringify(literal.id)} can never match a request: ${reason}` });
    }
  }
  return problems;
}

function unmatchable(type: string, id: string): string | undefined {
  switch (type) {
    case 'Workload': {
      const parsed = SpiffeId.parse(id);
      return parsed.ok ? undefined : `a workload is named by its SPIFFE ID, such as "spiffe://cluster.local/ns/shop/sa/frontend" (${parsed.reason})`;
    }
    case 'Anonymous':
      return id === 'anonymous' ? undefined : 'the only anonymous principal is Anonymous::"anonymous"';
    default:
      return undefined;
  }
}

/**
 * A policy with an error makes Cedar add warnings that only follow from it (an unknown action
 * leaves "unable to find an applicable action" and "policy is impossible"); listed first, at
 * the policy's start, they hide the error that explains them.
 */
function withoutFollowOnWarnings(problems: readonly PolicyProblem[]): PolicyProblem[] {
  const failed = new Set(problems.filter((problem) => problem.severity === 'error' && problem.policy !== undefined).map((problem) => problem.policy));
  return problems.filter((problem) => problem.severity === 'error' || problem.policy === undefined || !failed.has(problem.policy));
}

/**
 * Cedar validates a policy once per action its scope allows, so one mistake in a policy for
 * `action` comes back nine times, differing only in the action named; they are said once. Only
 * messages naming exactly one action are merged: one naming two (`unrecognized action X (did you
 * mean Y?)`) is Cedar's own hint and is kept as written.
 */
function mergeByAction(problems: readonly PolicyProblem[]): PolicyProblem[] {
  const action = /Action::"(?:[^"\\]|\\.)*"/g;
  const merged = new Map<string, { problem: PolicyProblem; actions: string[] }>();
  for (const [index, problem] of problems.entries()) {
    const named = problem.message.match(action) ?? [];
    const single = named.length === 1;
    const key = single ? JSON.stringify([problem.file, problem.line, problem.col, problem.severity, problem.message.replace(action, '')]) : `#${index}`;
    const entry = merged.get(key);
    if (entry) entry.actions.push(...named);
    else merged.set(key, { problem, actions: single ? named : [] });
  }
  return [...merged.values()].map(({ problem, actions }) =>
    actions.length < 2 ? problem : { ...problem, message: problem.message.replace(action, () => [...new Set(actions)].sort().join(', ')) },
  );
}

function sortProblems(problems: PolicyProblem[]): PolicyProblem[] {
  return problems
    .map((problem, index) => ({ problem, index }))
    .sort((a, b) => compare(a.problem.file, b.problem.file) || a.problem.line - b.problem.line || a.problem.col - b.problem.col || a.index - b.index)
    .map(({ problem }) => problem);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
