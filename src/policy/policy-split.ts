import { endOfComment, endOfString } from './cedar-tokens.js';

/** One policy's text as written, and where it starts in its file (a UTF-16 index). */
export interface PolicySource {
  readonly text: string;
  readonly start: number;
}

/**
 * Cuts a policy file into its policies, so that each keeps its own file position and can be
 * parsed, validated and named on its own. In Cedar a `;` outside a string or a `//` comment only
 * ever ends a policy. A policy starts at its first token: leading comments belong to nobody.
 * Text after the last `;` is returned as one more policy unless it is only blanks and comments,
 * so that the parser, not this function, reports a missing `;`.
 */
export function splitPolicies(text: string): PolicySource[] {
  const policies: PolicySource[] = [];
  let start = -1;
  let index = 0;
  while (index < text.length) {
    const char = text[index];
    if (char === '/' && text[index + 1] === '/') {
      index = endOfLine(text, index);
      continue;
    }
    if (start === -1 && !/\s/.test(char ?? '')) start = index;
    if (char === '"') {
      index = endOfString(text, index);
      continue;
    }
    index += 1;
    if (char === ';') {
      policies.push({ text: text.slice(start, index), start });
      start = -1;
    }
  }
  if (start !== -1) policies.push({ text: text.slice(start).trimEnd(), start });
  return policies;
}

function endOfLine(text: string, index: number): number {
  return Math.min(text.length, endOfComment(text, index) + 1);
}

