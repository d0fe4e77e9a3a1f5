import { stringValue, tokenize, type Token } from './cedar-tokens.js';

/** A `when { … }` or `unless { … }` clause as written, and where it starts in the policy text. */
export interface ClauseSource {
  readonly kind: 'when' | 'unless';
  readonly text: string;
  /** UTF-16 index in the policy text. */
  readonly start: number;
}

/**
 * The condition clauses of one policy in the order written, which is the order of `conditions`
 * in Cedar's JSON form of the policy. Empty when the text has no scope to follow.
 */
export function conditionClauses(policyText: string): ClauseSource[] {
  const tokens = tokenize(policyText).filter((token) => token.kind !== 'comment');
  const scopeOpen = tokens.findIndex((token, index) => token.kind === 'ident' && (token.text === 'permit' || token.text === 'forbid') && tokens[index + 1]?.text === '(');
  if (scopeOpen === -1) return [];
  let index = closing(tokens, scopeOpen + 1, '(', ')');
  const clauses: ClauseSource[] = [];
  while (index < tokens.length) {
    const keyword = tokens[index]!;
    if (keyword.kind !== 'ident' || (keyword.text !== 'when' && keyword.text !== 'unless') || tokens[index + 1]?.text !== '{') break;
    const end = closing(tokens, index + 1, '{', '}');
    const last = tokens[end - 1]!;
    clauses.push({ kind: keyword.text, text: policyText.slice(keyword.start, last.start + last.text.length), start: keyword.start });
    index = end;
  }
  return clauses;
}

/** An entity literal `Type::"id"` (a namespaced type keeps its `::` path in `type`). */
export interface EntityLiteral {
  readonly type: string;
  readonly id: string;
  /** UTF-16 index in the text. */
  readonly start: number;
}

/** Every entity literal of a policy text whose id Cedar would read the same way. */
export function entityLiterals(text: string): EntityLiteral[] {
  const tokens = tokenize(text).filter((token) => token.kind !== 'comment');
  const found: EntityLiteral[] = [];
  for (let index = 0; index + 2 < tokens.length; index++) {
    const [name, separator, id] = [tokens[index]!, tokens[index + 1]!, tokens[index + 2]!];
    if (name.kind !== 'ident' || separator.text !== '::' || id.kind !== 'string') continue;
    let first = index;
    while (first >= 2 && tokens[first - 1]!.text === '::' && tokens[first - 2]!.kind === 'ident') first -= 2;
    const value = stringValue(id.text);
    if (value === undefined) continue;
    found.push({ type: tokens.slice(first, index + 1).filter((token) => token.kind === 'ident').map((token) => token.text).join('::'), id: value, start: tokens[first]!.start });
  }
  return found;
}

/** The `//` comments of a text, in order, trailing blanks removed. */
export function comments(text: string): Token[] {
  return tokenize(text).filter((token) => token.kind === 'comment');
}

/** The index after the token that closes the bracket opened at `open`, or the end of the tokens. */
function closing(tokens: readonly Token[], open: number, left: string, right: string): number {
  let depth = 0;
  for (let index = open; index < tokens.length; index++) {
    const text = tokens[index]!.text;
    if (text === left) depth += 1;
    else if (text === right) depth -= 1;
    if (depth === 0) return index + 1;
  }
  return tokens.length;
}
