import { basename } from 'node:path';
import { policyToJson, validate, type DetailedError, type PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
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

/**
 * Parses, names and strictly validates every policy of the set, in file-name order; reports
 * every problem at once. The set may load only when no problem is an error.
 */
export function validatePolicySet(input: PolicySetInput, clock: PhaseClock): { policies: ParsedPolicy[]; problems: PolicyProblem[] } {
  const problems: PolicyProblem[] = [];
  const files = [...input.files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const split = clock.time('split', () => files.map((file) => ({ ...file, lines: new LineIndex(file.text), sources: splitPolicies(file.text) })));
  const parsed = clock.time('parse', () => split.flatMap((file) => parseFile(file.name, file.lines, file.sources, problems)));
  const policies = withoutDuplicateIds(parsed, problems);
  // Cedar's validator answers in an order of its own, which a schema change reshuffles: in file
  // and line order, problems read the same from one run to the next.
  const found = clock.time('validate', () => validatePolicies(policies, input));
  problems.push(...found.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col));
  return { policies, problems };
}

/** Parses each policy of one file on its own, so each error points into its own policy. */
function parseFile(file: string, lines: LineIndex, sources: readonly PolicySource[], problems: PolicyProblem[]): ParsedPolicy[] {
  const parsed: ParsedPolicy[] = [];
  for (const [index, source] of sources.entries()) {
    const answer = policyToJson(source.text);
    if (answer.type === 'failure') {
      problems.push(...answer.errors.map((error) => locate(error, file, lines, source.start, source.text, 'error')));
      continue;
    }
    const position = lines.at(source.start);
    if (answer.json.annotations?.id === '') {
      problems.push({ file, ...position, message: 'the @id annotation is empty', severity: 'error' });
      continue;
    }
    parsed.push({
      id: answer.json.annotations?.id ?? `${basename(file)}#${index}`,
      file,
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
 * Strict validation against the schema. Cedar answers "success" even when policies break the
 * schema (the verdict is in `validationErrors`); "failure" means the schema itself is wrong.
 * Policies that failed to parse are left out, and the rest still checked, so every problem shows at once.
 */
function validatePolicies(policies: readonly ParsedPolicy[], input: PolicySetInput): PolicyProblem[] {
  const byId = new Map(policies.map((policy) => [policy.id, policy]));
  const schemaLines = new LineIndex(input.schemaText);
  const answer = validate({
    schema: input.schemaText,
    policies: { staticPolicies: Object.fromEntries(policies.map((policy) => [policy.id, policy.text])) },
    validationSettings: { mode: 'strict' },
  });
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
