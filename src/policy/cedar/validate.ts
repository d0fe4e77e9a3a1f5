/**
 * Reading Cedar's answers about a policy set: each policy named from its parse, every problem at
 * its FILE:LINE:COL. Which calls are made, and where, is check-set.ts's business.
 */
import { basename } from 'node:path';
import type { DetailedError, PolicyJson, PolicyToJsonAnswer, ValidationAnswer, ValidationCall } from '@cedar-policy/cedar-wasm/nodejs';
import type { PhaseClock } from '../load-phases.js';
import { splitPolicies, type PolicySource } from '../policy-split.js';
import type { PolicyProblem } from '../problem.js';
import { indexOfByteOffset, LineIndex } from '../source-position.js';
import type { PolicySetInput } from '../version.js';

export interface PolicyInfo {
  /** `@id("…")`, else `FILE#N` with N counted from 0 within the file. */
  readonly id: string;
  readonly file: string;
  readonly line: number;
  readonly effect: 'permit' | 'forbid';
  readonly text: string;
}

/** A policy as parsed from its file: its place in the file and Cedar's JSON form of it. */
export interface ParsedPolicy extends PolicyInfo {
  readonly start: number;
  /** The lines of the whole file the policy is in. */
  readonly lines: LineIndex;
  readonly json: PolicyJson;
}

/** The set's files cut into policies, each file's lines indexed once. */
export interface SplitFile {
  readonly name: string;
  readonly lines: LineIndex;
  readonly sources: readonly PolicySource[];
}

export interface CheckedSet {
  readonly policies: ParsedPolicy[];
  readonly problems: PolicyProblem[];
}

/** The files in name order, each cut into its policies. */
export function splitFiles(input: PolicySetInput, clock: PhaseClock): SplitFile[] {
  const files = [...input.files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return clock.time('split', () => files.map((file) => ({ name: file.name, lines: new LineIndex(file.text), sources: splitPolicies(file.text) })));
}

/** Every file's policies named from Cedar's parse of each (`answers[f][p]` for policy p of file f), duplicates refused. */
export function namePolicies(files: readonly SplitFile[], answers: readonly (readonly PolicyToJsonAnswer[])[]): CheckedSet {
  const problems: PolicyProblem[] = [];
  const parsed = files.flatMap((file, index) => parseFile(file, answers[index]!, problems));
  return { policies: withoutDuplicateIds(parsed, problems), problems };
}

/** The named policies with the problems Cedar's verdict on them holds, all in file and line order. */
export function withVerdict(input: PolicySetInput, named: CheckedSet, verdict: ValidationAnswer): CheckedSet {
  // Cedar's validator answers in an order of its own, which a schema change reshuffles: in file
  // and line order, problems read the same from one run to the next.
  const found = validationProblems(named.policies, input, verdict).sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
  return { policies: named.policies, problems: [...named.problems, ...found] };
}

/** Names each policy of one file from Cedar's parse of it, so each error points into its own policy. */
function parseFile(file: SplitFile, answers: readonly PolicyToJsonAnswer[], problems: PolicyProblem[]): ParsedPolicy[] {
  const { name, lines } = file;
  const parsed: ParsedPolicy[] = [];
  for (const [index, source] of file.sources.entries()) {
    const answer = answers[index]!;
    if (answer.type === 'failure') {
      problems.push(...answer.errors.map((error) => locate(error, name, lines, source.start, source.text, 'error')));
      continue;
    }
    const position = lines.at(source.start);
    if (answer.json.annotations?.id === '') {
      problems.push({ file: name, ...position, message: 'the @id annotation is empty', severity: 'error' });
      continue;
    }
    parsed.push({
      id: answer.json.annotations?.id ?? `${basename(name)}#${index}`,
      file: name,
      line: position.line,
      effect: answer.json.effect,
      text: source.text,
      start: source.start,
      lines,
      json: answer.json,
    });
  }
  return parsed;
}

function withoutDuplicateIds(parsed: readonly ParsedPolicy[], problems: PolicyProblem[]): ParsedPolicy[] {
  const seen = new Map<string, ParsedPolicy>();
  for (const policy of parsed) {
    const first = seen.get(policy.id);
    if (first === undefined) {
      seen.set(policy.id, policy);
      continue;
    }
    const at = policy.lines.at(policy.start);
    const firstAt = first.lines.at(first.start);
    problems.push({
      file: policy.file,
      ...at,
      message: `duplicate policy id ${JSON.stringify(policy.id)}, first used at ${first.file}:${firstAt.line}:${firstAt.col}`,
      severity: 'error',
    });
  }
  return [...seen.values()];
}

/**
 * Strict validation against the schema. Policies that failed to parse are left out, and the
 * rest still checked, so every problem shows at once.
 */
export function validationCall(input: PolicySetInput, policies: readonly ParsedPolicy[]): ValidationCall {
  return {
    schema: input.schemaText,
    policies: { staticPolicies: Object.fromEntries(policies.map((policy) => [policy.id, policy.text])) },
    validationSettings: { mode: 'strict' },
  };
}

/**
 * The verdicts on parts of a set as one. The parts' schema is the same, so a schema that fails
 * fails every part alike, and the warnings Cedar met reading the schema (`otherWarnings`, which
 * name no policy) come back from every part: each is taken as often as the first part has it,
 * and anything a later part has beyond that is kept too.
 */
export function joinVerdicts(verdicts: readonly ValidationAnswer[]): ValidationAnswer {
  const failure = verdicts.find((verdict) => verdict.type === 'failure');
  if (failure !== undefined) return failure;
  const parts = verdicts.filter((verdict) => verdict.type === 'success');
  return {
    type: 'success',
    validationErrors: parts.flatMap((part) => part.validationErrors),
    validationWarnings: parts.flatMap((part) => part.validationWarnings),
    otherWarnings: parts.flatMap((part, index) => (index === 0 ? part.otherWarnings : beyond(part.otherWarnings, parts[0]!.otherWarnings))),
  };
}

/** `found` without as many of each warning as `seen` holds. */
function beyond(found: readonly DetailedError[], seen: readonly DetailedError[]): DetailedError[] {
  const left = new Map<string, number>();
  for (const warning of seen) left.set(JSON.stringify(warning), (left.get(JSON.stringify(warning)) ?? 0) + 1);
  return found.filter((warning) => {
    const key = JSON.stringify(warning);
    const count = left.get(key) ?? 0;
    if (count > 0) left.set(key, count - 1);
    return count === 0;
  });
}

/**
 * Cedar answers "success" even when policies break the schema (the verdict is in
 * `validationErrors`); "failure" means the schema itself is wrong.
 */
function validationProblems(policies: readonly ParsedPolicy[], input: PolicySetInput, answer: ValidationAnswer): PolicyProblem[] {
  const byId = new Map(policies.map((policy) => [policy.id, policy]));
  const schemaLines = new LineIndex(input.schemaText);
  if (answer.type === 'failure') {
    return [
      ...answer.errors.map((error) => locate(error, input.schemaFile, schemaLines, 0, input.schemaText, 'error')),
      ...answer.warnings.map((warning) => locate(warning, input.schemaFile, schemaLines, 0, input.schemaText, 'warning')),
    ];
  }
  const inPolicy = (found: { policyId: string; error: DetailedError }, severity: 'error' | 'warning'): PolicyProblem => {
    const policy = byId.get(found.policyId);
    const problem =
      policy === undefined
        ? locate(found.error, input.schemaFile, schemaLines, 0, input.schemaText, severity)
        : locate(found.error, policy.file, policy.lines, policy.start, policy.text, severity);
    return { ...problem, policy: found.policyId };
  };
  return [
    ...answer.validationErrors.map((found) => inPolicy(found, 'error')),
    ...answer.validationWarnings.map((found) => inPolicy(found, 'warning')),
    ...answer.otherWarnings.map((warning) => locate(warning, input.schemaFile, schemaLines, 0, input.schemaText, 'warning')),
  ];
}

/**
 * A Cedar error → a problem at FILE:LINE:COL. Cedar's offsets are UTF-8 bytes into the text it
 * was given (`fragment`, which starts at UTF-16 index `fragmentStart` of the file whose lines
 * are `fileLines`); an error without a location points at the start of the fragment.
 */
function locate(
  error: DetailedError,
  file: string,
  fileLines: LineIndex,
  fragmentStart: number,
  fragment: string,
  severity: 'error' | 'warning',
): PolicyProblem {
  const offset = error.sourceLocations?.[0]?.start ?? 0;
  const position = fileLines.at(fragmentStart + indexOfByteOffset(fragment, offset));
  const help = error.help ? ` (${error.help})` : '';
  return { file, line: position.line, col: position.col, message: `${error.message}${help}`, severity };
}
