/**
 * A small tokenizer over Cedar policy text, for tools that must see the text as written:
 * comments (which Cedar's parser discards), entity literals and the source of `when`/`unless`
 * clauses. It never decides validity; Cedar does. Anything it does not recognise becomes a
 * one-character `punct` token, so it never fails and never loses its place.
 */
export interface Token {
  readonly kind: 'comment' | 'string' | 'ident' | 'punct';
  readonly text: string;
  /** UTF-16 index of the token's first character. */
  readonly start: number;
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < text.length) {
    const char = text[index]!;
    if (/\s/.test(char)) {
      index += 1;
      continue;
    }
    const start = index;
    if (char === '/' && text[index + 1] === '/') {
      index = endOfComment(text, index);
      tokens.push({ kind: 'comment', text: text.slice(start, index).trimEnd(), start });
    } else if (char === '"') {
      index = endOfString(text, index);
      tokens.push({ kind: 'string', text: text.slice(start, index), start });
    } else if (/[A-Za-z0-9_]/.test(char)) {
      while (index < text.length && /[A-Za-z0-9_]/.test(text[index]!)) index += 1;
      tokens.push({ kind: 'ident', text: text.slice(start, index), start });
    } else if (char === ':' && text[index + 1] === ':') {
      index += 2;
      tokens.push({ kind: 'punct', text: '::', start });
    } else {
      index += 1;
      tokens.push({ kind: 'punct', text: char, start });
    }
  }
  return tokens;
}

/**
 * Where a `//` comment that starts at `index` ends: Cedar's lexer ends it at a CR as well as an LF,
 * and so must we, or code after a lone CR would be taken for comment (a policy condition hidden
 * from every tool that reads the text).
 */
export function endOfComment(text: string, index: number): number {
  for (let i = index; i < text.length; i++) {
    if (text[i] === '\n' || text[i] === '\r') return i;
  }
  return text.length;
}

/** The value of a Cedar string literal token (its quotes removed, escapes decoded); undefined if an escape is not one Cedar knows. */
export function stringValue(token: string): string | undefined {
  const body = token.slice(1, token.endsWith('"') && token.length > 1 ? -1 : undefined);
  let out = '';
  for (let index = 0; index < body.length; index++) {
    const char = body[index]!;
    if (char !== '\\') {
      out += char;
      continue;
    }
    const next = body[index + 1];
    index += 1;
    const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '0': '\0', "'": "'", '"': '"' };
    if (next !== undefined && simple[next] !== undefined) {
      out += simple[next];
    } else if (next === 'u') {
      const match = /^\{([0-9a-fA-F]{1,6})\}/.exec(body.slice(index + 1));
      if (!match) return undefined;
      out += String.fromCodePoint(Number.parseInt(match[1]!, 16));
      index += match[0].length;
    } else {
      return undefined;
    }
  }
  return out;
}

/** The index after the closing quote of the string that opens at `index`, or the end of text. */
export function endOfString(text: string, index: number): number {
  let position = index + 1;
  while (position < text.length) {
    const char = text[position];
    if (char === '\\') position += 2;
    else if (char === '"') return position + 1;
    else position += 1;
  }
  return text.length;
}
