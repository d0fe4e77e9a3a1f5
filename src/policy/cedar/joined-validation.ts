/**
 * Strict validation of many policies given to Cedar as one text (see joined-text.ts): about half
 * the CPU time of the same policies given one by one (`validationCall`).
 *
 * Cedar's messages then name the policies `policy0`, `policy1`, …, not by their ids. So the joined
 * answer is taken only for the policies it finds nothing in; those it finds anything in are
 * validated again by their own ids, and that answer is the one read. Cedar validates each policy
 * on its own (neither its id nor the rest of the set enters into it), and the joined text holds
 * exactly the same policies, so a policy the joined answer finds nothing in is one the answer by
 * id finds nothing in.
 */
import type { ValidationAnswer, ValidationCall } from '@cedar-policy/cedar-wasm/nodejs';
import type { PolicySetInput } from '../version.js';
import { joinedText, positionOf } from './joined-text.js';
import { validationCall, type ParsedPolicy } from './validate.js';

/** What a joined answer settles: the verdict, when it found nothing in any policy; else which policies to validate again by id. */
export type Settled = { readonly verdict: ValidationAnswer } | { readonly again: readonly ParsedPolicy[] };

/** `validationCall` with the policies as one text, in order. */
export function joinedValidationCall(input: PolicySetInput, policies: readonly ParsedPolicy[]): ValidationCall {
  return { ...validationCall(input, []), policies: { staticPolicies: joinedText(policies.map((policy) => policy.text)) } };
}

/**
 * Reads Cedar's answer to `joinedValidationCall(input, policies)`. A failure (the schema is
 * wrong) or a name it cannot place sends every policy back, so that the answer read is always
 * one Cedar gave by id.
 */
export function settle(answer: ValidationAnswer, policies: readonly ParsedPolicy[]): Settled {
  if (answer.type === 'failure') return { again: policies };
  const named = [...answer.validationErrors, ...answer.validationWarnings].map((found) => policies[positionOf(found.policyId)]);
  if (named.length === 0) return { verdict: { type: 'success', validationErrors: [], validationWarnings: [], otherWarnings: answer.otherWarnings } };
  if (named.some((policy) => policy === undefined)) return { again: policies };
  return { again: [...new Set(named as ParsedPolicy[])] };
}
