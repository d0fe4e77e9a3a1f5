import { policyToJson, validate, type PolicyJson, type PolicyToJsonAnswer, type ValidationAnswer } from '@cedar-policy/cedar-wasm/nodejs';
import type { PhaseClock } from '../load-phases.js';
import type { PolicySetInput } from '../version.js';
import { joinedValidationCall, settle } from './joined-validation.js';
import { CedarThreads } from './threads.js';
import { joinVerdicts, namePolicies, splitFiles, validationCall, withVerdict, type CheckedSet, type ParsedPolicy, type SplitFile } from './validate.js';

/**
 * Cedar's answers an earlier set was built from, for a reload to take instead of asking again.
 * Both are pure functions of what they are keyed on: a policy's JSON of its exact text, and
 * Cedar's verdict on a policy of its id, its text and the schema (Cedar validates each policy
 * on its own, the rest of the set does not enter into it).
 */
export interface Reusable {
  json(text: string): PolicyJson | undefined;
  /** Whether strict validation against `schemaText` found nothing at all in this policy. */
  passed(id: string, text: string, schemaText: string): boolean;
  /** Whether the verdicts were given under `schemaText`; under any other schema, none is reused. */
  validatedUnder(schemaText: string): boolean;
}

export const nothingToReuse: Reusable = { json: () => undefined, passed: () => false, validatedUnder: () => false };

/** How a set is shared out among threads (see threads.ts). */
export interface ThreadPlan {
  /** 0 keeps every call on the caller's thread. */
  readonly threads: number;
  /** Fewer policies to parse are parsed on the caller's thread: starting threads would cost more than they save. */
  readonly minPolicies: number;
}

/**
 * Parses, names and strictly validates every policy of the set, in file-name order; reports
 * every problem at once. The set may load only when no problem is an error.
 */
export function validatePolicySet(input: PolicySetInput, clock: PhaseClock): CheckedSet {
  return inline(input, splitFiles(input, clock), clock, nothingToReuse);
}

/**
 * `validatePolicySet`, asking Cedar only what `reuse` cannot answer, in threads when there is
 * enough of it: the same calls, their answers read the same way. The set is validated in several
 * parts per thread, each as one text (joined-validation.ts), and the verdicts joined. Should a
 * thread fail, the work is done again here.
 */
export async function checkPolicySet(input: PolicySetInput, clock: PhaseClock, plan: ThreadPlan, reuse: Reusable): Promise<CheckedSet> {
  const files = splitFiles(input, clock);
  if (!worthThreads(input, files, reuse, plan)) return inline(input, files, clock, reuse);
  let threads: CedarThreads | undefined;
  try {
    threads = new CedarThreads(plan.threads);
    return await inThreads(input, files, clock, reuse, threads);
  } catch {
    return inline(input, files, clock, reuse);
  } finally {
    await threads?.close();
  }
}

/**
 * Whether Cedar has enough to do for threads: the policies to parse, or, under a schema the
 * earlier set was not validated under, every policy to validate again (a reload with a changed
 * schema parses nothing, and would otherwise hold the event loop for the whole validation).
 */
export function worthThreads(input: PolicySetInput, files: readonly SplitFile[], reuse: Reusable, plan: ThreadPlan): boolean {
  const sources = files.flatMap((file) => file.sources);
  const unparsed = sources.filter((source) => reuse.json(source.text) === undefined).length;
  const toCheck = reuse.validatedUnder(input.schemaText) ? unparsed : sources.length;
  return plan.threads >= 1 && toCheck >= plan.minPolicies;
}

function inline(input: PolicySetInput, files: readonly SplitFile[], clock: PhaseClock, reuse: Reusable): CheckedSet {
  const named = clock.time('parse', () => namePolicies(files, answers(files, reuse, unparsedTexts(files, reuse).map((text) => policyToJson(text)))));
  const verdict = clock.time('validate', () => {
    const policies = toValidate(input, named.policies, reuse);
    const settled = settle(validate(joinedValidationCall(input, policies)), policies);
    return 'verdict' in settled ? settled.verdict : validate(validationCall(input, settled.again));
  });
  return withVerdict(input, named, verdict);
}

async function inThreads(input: PolicySetInput, files: readonly SplitFile[], clock: PhaseClock, reuse: Reusable, threads: CedarThreads): Promise<CheckedSet> {
  const named = await clock.time('parse', async () => namePolicies(files, answers(files, reuse, await threads.toJson(unparsedTexts(files, reuse)))));
  const verdict = await clock.time('validate', async (): Promise<ValidationAnswer> => {
    const policies = toValidate(input, named.policies, reuse);
    const run = Math.max(1, Math.ceil(policies.length / threads.runs));
    const parts = Array.from({ length: Math.ceil(policies.length / run) || 1 }, (_, index) => policies.slice(index * run, (index + 1) * run));
    const settled = (await threads.validate(parts.map((part) => joinedValidationCall(input, part)))).map((answer, index) => settle(answer, parts[index]!));
    const again = settled.flatMap((part) => ('again' in part ? [part.again] : []));
    const answeredAgain = again.length === 0 ? [] : await threads.validate(again.map((part) => validationCall(input, part)));
    return joinVerdicts([...settled.flatMap((part) => ('verdict' in part ? [part.verdict] : [])), ...answeredAgain]);
  });
  return withVerdict(input, named, verdict);
}

function unparsedTexts(files: readonly SplitFile[], reuse: Reusable): string[] {
  return files.flatMap((file) => file.sources.map((source) => source.text).filter((text) => reuse.json(text) === undefined));
}

/** Each file's answers, in order: reused where `reuse` has one, else the next of `fresh` (the answers to `unparsedTexts`). */
function answers(files: readonly SplitFile[], reuse: Reusable, fresh: readonly PolicyToJsonAnswer[]): PolicyToJsonAnswer[][] {
  let next = 0;
  return files.map((file) =>
    file.sources.map((source) => {
      const json = reuse.json(source.text);
      return json === undefined ? fresh[next++]! : { type: 'success', json };
    }),
  );
}

/** The policies Cedar must still validate; with none, the call still checks the schema. */
function toValidate(input: PolicySetInput, policies: readonly ParsedPolicy[], reuse: Reusable): ParsedPolicy[] {
  return policies.filter((policy) => !reuse.passed(policy.id, policy.text, input.schemaText));
}
