import { formatPolicies } from '@cedar-policy/cedar-wasm/nodejs';
import { indexOfByteOffset, lineColAt } from '../source-position.js';

/** Cedar's canonical layout of a policy file, for `gatehouse format`; comments are kept. */
export function formatPolicyText(text: string): { ok: true; text: string } | { ok: false; message: string } {
  const answer = formatPolicies({ policyText: text });
  if (answer.type === 'success') return { ok: true, text: answer.formatted_policy };
  const message = answer.errors
    .map((error) => {
      const position = lineColAt(text, indexOfByteOffset(text, error.sourceLocations?.[0]?.start ?? 0));
      return `${position.line}:${position.col}: ${error.message}`;
    })
    .join('\n');
  return { ok: false, message };
}
