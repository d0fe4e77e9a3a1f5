import { stringValue, tokenize } from './cedar-tokens.js';

/**
 * What a policy set can read of a request, found by scanning the policy texts. Leaving out what
 * no policy reads makes each Cedar call cheaper (less crosses into wasm) and lets decisions be
 * cached on what remains: two requests equal in everything policies can read get the same answer.
 *
 * The scan is conservative: any use of `context` it does not fully understand (a bare
 * `context`, `context["…"]`, a tag read whose name is not a string literal) marks that part as
 * read in full. Comments are skipped: they cannot read anything.
 */
export interface PolicyReads {
  /** Context attributes read by name: path, method, host, scheme, authn. */
  readonly context: ReadonlySet<string>;
  /** Header tags read: 'all', or the literal names used with getTag/hasTag. */
  readonly headers: 'all' | ReadonlySet<string>;
  readonly query: 'all' | ReadonlySet<string>;
  readonly sourceIp: boolean;
  readonly sourcePort: boolean;
  /** Tags read on anything other than context.headers / context.query: namespace labels. */
  readonly namespaceTags: boolean;
  /**
   * How policies look at the path: when only through `like "pattern"` and `==`/`!=` against
   * literals, these tests, and two paths that pass the same tests decide alike; else 'opaque'.
   */
  readonly pathTests: 'opaque' | readonly PathTest[];
}

export type PathTest = { readonly kind: 'like'; readonly pattern: string } | { readonly kind: 'eq'; readonly value: string };

export const readsEverything: PolicyReads = Object.freeze({
  context: new Set(['path', 'method', 'host', 'scheme', 'authn']),
  headers: 'all',
  query: 'all',
  sourceIp: true,
  sourcePort: true,
  namespaceTags: true,
  pathTests: 'opaque',
});

/**
 * A token as this scan needs it: a string literal's value, and whether it was written with an
 * escape (then its value is not relied on and the read counts as unknown).
 */
type Token = { kind: 'ident' | 'string' | 'punct'; text: string; escaped?: boolean };

function scan(text: string): Token[] {
  return tokenize(text)
    .filter((token) => token.kind !== 'comment')
    .map((token): Token => {
      if (token.kind !== 'string') return { kind: token.kind === 'ident' ? 'ident' : 'punct', text: token.text };
      return { kind: 'string', text: stringValue(token.text) ?? '', escaped: token.text.includes('\\') };
    });
}

export function policyReads(texts: readonly string[]): PolicyReads {
  const tokens = texts.flatMap(scan);
  const context = new Set<string>();
  let headers: 'all' | Set<string> = new Set();
  let query: 'all' | Set<string> = new Set();
  let sourceIp = false;
  let sourcePort = false;
  let everything = false;
  const tagReceivers = new Set<number>();
  let pathTests: 'opaque' | PathTest[] = [];
  const addPathTest = (test: PathTest | undefined): void => {
    if (pathTests === 'opaque') return;
    if (test === undefined) pathTests = 'opaque';
    else if (!pathTests.some((t) => t.kind === test.kind && (t.kind === 'like' ? t.pattern : t.value) === (test.kind === 'like' ? test.pattern : test.value))) pathTests.push(test);
  };

  let otherTags = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    // A tag read on anything but context.headers / context.query may be on any entity, the
    // request's Headers and Query included (`Headers::"request".hasTag(…)`): all tags count as read.
    if (t.kind === 'ident' && (t.text === 'getTag' || t.text === 'hasTag') && !tagReceivers.has(i)) otherTags = true;
    if (t.kind === 'ident' && (t.text === 'Headers' || t.text === 'Query') && tokens[i + 1]?.text === '::') otherTags = true;
    if (t.kind !== 'ident' || t.text !== 'context') continue;
    const next = tokens[i + 1];
    const attr = tokens[i + 2];
    // `context has path` needs only the attribute; so does `context.path`.
    const named = next?.text === '.' || (next?.kind === 'ident' && next.text === 'has') ? attr : undefined;
    if (named?.kind !== 'ident') {
      everything = true;
      continue;
    }
    switch (named.text) {
      case 'path':
        context.add('path');
        if (next?.text === '.') addPathTest(pathTest(tokens, i));
        break;
      case 'method':
      case 'host':
      case 'scheme':
      case 'authn':
        context.add(named.text);
        break;
      case 'headers':
      case 'query': {
        const names = tagRead(tokens, i + 3);
        if (tokens[i + 3]?.text === '.') tagReceivers.add(i + 4);
        if (named.text === 'headers') headers = addName(headers, names?.name);
        else query = addName(query, names?.name);
        break;
      }
      case 'source': {
        const sub = tokens[i + 3]?.text === '.' || tokens[i + 3]?.text === 'has' ? tokens[i + 4]?.text : undefined;
        if (sub === 'ip') sourceIp = true;
        else if (sub === 'port') sourcePort = true;
        else sourceIp = sourcePort = true;
        break;
      }
      default:
        everything = true;
    }
  }
  if (everything) return readsEverything;
  if (otherTags) return { context, headers: 'all', query: 'all', sourceIp, sourcePort, namespaceTags: true, pathTests };
  return { context, headers, query, sourceIp, sourcePort, namespaceTags: false, pathTests };
}

/**
 * `context.path like "p"`, `context.path == "v"`, `context.path != "v"` or `"v" == context.path`
 * at `at` (the `context` token); undefined for any other use. A literal with an escape is not
 * trusted to be read right here, so it makes the path opaque.
 */
function pathTest(tokens: readonly Token[], at: number): PathTest | undefined {
  const after = tokens.slice(at + 3, at + 6);
  const before = tokens.slice(Math.max(0, at - 3), at);
  const literal = (t: Token | undefined): string | undefined => (t?.kind === 'string' && !t.escaped ? t.text : undefined);
  if (after[0]?.text === 'like') {
    const pattern = literal(after[1]);
    return pattern === undefined ? undefined : { kind: 'like', pattern };
  }
  const isEqOp = (a: Token | undefined, b: Token | undefined): boolean => (a?.text === '=' || a?.text === '!') && b?.text === '=';
  if (isEqOp(after[0], after[1]) && after[2]?.kind === 'string') {
    const value = literal(after[2]);
    return value === undefined ? undefined : { kind: 'eq', value };
  }
  if (isEqOp(before[1], before[2]) && before[0]?.kind === 'string') {
    const value = literal(before[0]);
    return value === undefined ? undefined : { kind: 'eq', value };
  }
  return undefined;
}

/**
 * Cedar's `like`: `*` matches any run of characters, the rest literally, over the whole string.
 * Matched greedily piece by piece in linear time: a regular expression with several `.*` can
 * backtrack for seconds on a long hostile path.
 */
export function likeMatcher(pattern: string): (value: string) => boolean {
  const pieces = pattern.split('*');
  const first = pieces[0]!;
  if (pieces.length === 1) return (value) => value === first;
  const last = pieces[pieces.length - 1]!;
  const middle = pieces.slice(1, -1);
  return (value) => {
    if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false;
    let at = first.length;
    const end = value.length - last.length;
    for (const piece of middle) {
      const found = value.indexOf(piece, at);
      if (found < 0 || found + piece.length > end) return false;
      at = found + piece.length;
    }
    return true;
  };
}

/** `. getTag ( "name" )` or `. hasTag ( "name" )` starting at `at`; else undefined (read in full). */
function tagRead(tokens: readonly Token[], at: number): { name: string } | undefined {
  const [dot, method, open, arg, close] = tokens.slice(at, at + 5);
  if (dot?.text !== '.' || (method?.text !== 'getTag' && method?.text !== 'hasTag')) return undefined;
  if (open?.text !== '(' || arg?.kind !== 'string' || arg.escaped || close?.text !== ')') return undefined;
  return { name: arg.text };
}

function addName(current: 'all' | Set<string>, name: string | undefined): 'all' | Set<string> {
  if (current === 'all' || name === undefined) return 'all';
  current.add(name);
  return current;
}
