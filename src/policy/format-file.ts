import { formatPolicyText } from './cedar/format.js';
import { comments } from './policy-source.js';
import { splitPolicies } from './policy-split.js';
import { lineColAt } from './source-position.js';

export type FormatResult =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly problems: readonly FormatProblem[] };

export interface FormatProblem {
  /** `LINE:COL` in the file, or '' when the problem is about the file as a whole. */
  readonly where: string;
  readonly message: string;
}

/**
 * One policy file laid out by Cedar's formatter, for `gatehouse format`, with two guards:
 *
 * - A file's header comment (the comments at its top, set apart from the first policy by a blank
 *   line) stays set apart: Cedar's formatter joins it to the first policy, where it would read
 *   as that policy's own comment.
 * - The comments must come out exactly as they went in. The formatter keeps them in every case
 *   we know of, but a comment is the one thing in a policy file that Cedar's parser does not
 *   see, so nothing else would notice one going missing; a file that would lose one is refused.
 *
 * A file without policies (empty, or only comments) is left as it is: there is nothing to lay out.
 */
export function formatPolicyFile(text: string): FormatResult {
  if (splitPolicies(text).length === 0) return { ok: true, text };
  const formatted = formatPolicyText(text);
  if (!formatted.ok) {
    const problems = formatted.message.split('\n').map((line) => {
      const match = /^(\d+:\d+): ([\s\S]*)$/.exec(line);
      return match ? { where: match[1]!, message: match[2]! } : { where: '', message: line };
    });
    return { ok: false, problems };
  }
  const result = keepHeaderApart(text, formatted.text);
  const lost = firstDifferentComment(text, result);
  if (lost !== undefined) {
    const message = `not rewritten: Cedar's formatter would not keep the comment ${JSON.stringify(lost.comment)} as written`;
    return { ok: false, problems: [{ where: lost.where, message }] };
  }
  return { ok: true, text: result };
}

function keepHeaderApart(original: string, formatted: string): string {
  const header = headerComment(original);
  if (header.length === 0) return formatted;
  const lines = formatted.split('\n');
  while (lines[0]?.trim() === '') lines.shift();
  const headerComments = header.filter((line) => line !== '');
  const same = headerComments.every((line, index) => lines[index]?.trim() === line.trim());
  if (!same) return formatted;
  const rest = lines.slice(headerComments.length);
  while (rest[0]?.trim() === '') rest.shift();
  return [...header, '', ...rest].join('\n');
}

/**
 * The lines (comments and the blank lines between them, trailing blanks removed) above the last
 * blank line of a file's leading run of comment and blank lines; [] when there is none.
 */
function headerComment(text: string): string[] {
  const lines = text.split('\n').map((line) => line.trimEnd());
  let end = -1;
  let sawComment = false;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.trim();
    if (line === '') {
      if (sawComment) end = index;
    } else if (line.startsWith('//')) {
      sawComment = true;
    } else {
      break;
    }
  }
  if (end === -1) return [];
  const header = lines.slice(0, end);
  while (header[0] === '') header.shift();
  while (header.at(-1) === '') header.pop();
  return header.map((line) => (line.trim().startsWith('//') ? line.trim() : line));
}

function firstDifferentComment(before: string, after: string): { where: string; comment: string } | undefined {
  const was = comments(before);
  const now = comments(after).map((token) => token.text);
  const index = was.findIndex((token, i) => token.text !== now[i]);
  if (index !== -1) {
    const { line, col } = lineColAt(before, was[index]!.start);
    return { where: `${line}:${col}`, comment: was[index]!.text };
  }
  return now.length > was.length ? { where: '', comment: now[was.length]! } : undefined;
}
