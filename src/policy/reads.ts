import type { Expr, ExprNoExt, PatternElem, PolicyJson } from './cedar/engine.js';

/**
 * What a policy set can read of a request, found by walking Cedar's own parse of each policy
 * (its JSON form), so no spelling of the text (comments, `context["path"]`, escapes, line breaks)
 * can hide a read. Leaving out what no policy reads makes each Cedar call cheaper (less crosses
 * into wasm) and lets decisions be cached on what remains: two requests equal in everything
 * policies can read get the same answer.
 *
 * The walk is conservative: any use of `context` it does not fully understand (a bare `context`,
 * an attribute it does not know, a tag read whose name is not a string literal, an expression
 * form it has never seen) marks that part, or everything, as read in full.
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
  context: new Set(['path', 'method', 'host', 'scheme', 'authn', 'actor', 'delegation']),
  headers: 'all',
  query: 'all',
  sourceIp: true,
  sourcePort: true,
  namespaceTags: true,
  pathTests: 'opaque',
});

/** The operand of one expression form, named by its key (`'like'` → `{ left, pattern }`), as cedar-wasm types it. */
type Operand<K extends string> = Extract<ExprNoExt, Record<K, unknown>> extends Record<K, infer O> ? O : never;

/** Context attributes that are plain values: reading one reads all of it. */
const plainAttributes: ReadonlySet<string> = new Set(['path', 'method', 'host', 'scheme', 'authn', 'actor', 'delegation']);

export function policyReads(policies: readonly PolicyJson[]): PolicyReads {
  const found = new Found();
  for (const policy of policies) for (const clause of policy.conditions) visit(clause.body, found);
  return found.reads();
}

/** What the walk has found so far; `everything` wins over all the rest. */
class Found {
  readonly context = new Set<string>();
  headers: 'all' | Set<string> = new Set();
  query: 'all' | Set<string> = new Set();
  sourceIp = false;
  sourcePort = false;
  /** Tags read on a Namespace (its labels): the only other entity type with tags. */
  namespaceTags = false;
  /** Tags read on an expression whose entity the walk cannot tell: any entity's. */
  otherTags = false;
  everything = false;
  pathTests: 'opaque' | PathTest[] = [];

  pathTest(test: PathTest | undefined): void {
    this.context.add('path');
    if (this.pathTests === 'opaque') return;
    if (test === undefined) this.pathTests = 'opaque';
    else if (!this.pathTests.some((known) => sameTest(known, test))) this.pathTests.push(test);
  }

  /** `context.NAME` used as a whole value. */
  attribute(name: string): void {
    if (name === 'path') this.pathTest(undefined);
    else if (plainAttributes.has(name)) this.context.add(name);
    else if (name === 'headers') this.headers = 'all';
    else if (name === 'query') this.query = 'all';
    else if (name === 'source') this.sourcePart(undefined);
    else this.everything = true;
  }

  /** `context.source.NAME` or `context.source has NAME`; any other use of the record reads both parts. */
  sourcePart(name: string | undefined): void {
    if (name !== 'port') this.sourceIp = true;
    if (name !== 'ip') this.sourcePort = true;
  }

  tag(on: 'headers' | 'query', name: string): void {
    const current = this[on];
    if (current !== 'all') current.add(name);
  }

  reads(): PolicyReads {
    if (this.everything) return readsEverything;
    const { context, sourceIp, sourcePort, pathTests } = this;
    // A tag read on an expression of unknown entity may be on any entity, the request's Headers
    // and Query included: all tags count as read.
    if (this.otherTags) return { context, headers: 'all', query: 'all', sourceIp, sourcePort, namespaceTags: true, pathTests };
    return { context, headers: this.headers, query: this.query, sourceIp, sourcePort, namespaceTags: this.namespaceTags, pathTests };
  }
}

function sameTest(a: PathTest, b: PathTest): boolean {
  return a.kind === 'like' ? b.kind === 'like' && a.pattern === b.pattern : b.kind === 'eq' && a.value === b.value;
}

/**
 * Every form of Cedar's expression JSON: the ones that can read the request precisely are
 * recognised where they stand; the rest are walked through, and a form not known here reads
 * everything.
 */
function visit(expr: Expr, found: Found): void {
  const entries = Object.entries(expr);
  if (entries.length !== 1) {
    found.everything = true;
    return;
  }
  const [op, operand] = entries[0]!;
  switch (op) {
    case 'Value':
    case 'Slot':
      return;
    case 'Var':
      if ((operand as Operand<'Var'>) === 'context') found.everything = true;
      return;
    case '.':
      return attributeRead(operand as Operand<'.'>, found);
    case 'has':
      return presenceTest(operand as Operand<'has'>, found);
    case 'like':
      return likeTest(operand as Operand<'like'>, found);
    case '==':
    case '!=':
      return equalityTest(operand as Operand<'=='>, found);
    case 'getTag':
    case 'hasTag':
      return tagRead(operand as Operand<'getTag'>, found);
    case '!':
    case 'neg':
    case 'isEmpty':
      return visit((operand as Operand<'!'>).arg, found);
    case 'in':
    case '<':
    case '<=':
    case '>':
    case '>=':
    case '&&':
    case '||':
    case '+':
    case '-':
    case '*':
    case 'contains':
    case 'containsAll':
    case 'containsAny': {
      const { left, right } = operand as Operand<'in'>;
      visit(left, found);
      return visit(right, found);
    }
    case 'is': {
      const node = operand as Operand<'is'>;
      visit(node.left, found);
      if (node.in !== undefined) visit(node.in, found);
      return;
    }
    case 'if-then-else': {
      const node = operand as Operand<'if-then-else'>;
      for (const part of [node.if, node.then, node.else]) visit(part, found);
      return;
    }
    case 'Record':
      for (const value of Object.values(operand as Operand<'Record'>)) visit(value, found);
      return;
    case 'Set':
    default:
      // Besides a set, a list is the arguments of an extension function or method (`ip(…)`, `….isInRange(…)`).
      if (Array.isArray(operand)) for (const arg of operand as Expr[]) visit(arg, found);
      else found.everything = true;
  }
}

/** The attribute name when `expr` is `context.NAME`. */
function contextAttribute(expr: Expr): string | undefined {
  const access = (expr as Partial<Record<'.', Operand<'.'>>>)['.'];
  return access !== undefined && isContext(access.left) ? access.attr : undefined;
}

function isContext(expr: Expr): boolean {
  return (expr as Partial<Record<'Var', unknown>>).Var === 'context';
}

/** The entity type when `expr` is an entity literal (`Namespace::"shop"`). */
function entityLiteralType(expr: Expr): string | undefined {
  const value = (expr as Partial<Record<'Value', unknown>>).Value;
  if (typeof value !== 'object' || value === null || !('__entity' in value)) return undefined;
  const type = (value as { __entity?: { type?: unknown } }).__entity?.type;
  return typeof type === 'string' ? type : undefined;
}

function stringLiteral(expr: Expr): string | undefined {
  const value = (expr as Partial<Record<'Value', unknown>>).Value;
  return typeof value === 'string' ? value : undefined;
}

function attributeRead({ left, attr }: Operand<'.'>, found: Found): void {
  if (isContext(left)) found.attribute(attr);
  else if (contextAttribute(left) === 'source') found.sourcePart(attr);
  else visit(left, found);
}

/**
 * `context has NAME` needs only the attribute, and `context.source has ip` only the ip. Cedar
 * writes `context has source.ip` as one test with the attributes listed.
 */
function presenceTest({ left, attr }: Operand<'has'>, found: Found): void {
  const [first, second] = typeof attr === 'string' ? [attr, undefined] : attr;
  if (isContext(left)) {
    if (plainAttributes.has(first)) found.context.add(first);
    else if (first === 'source') found.sourcePart(second);
    else found.attribute(first);
  } else if (contextAttribute(left) === 'source') {
    found.sourcePart(first);
  } else {
    visit(left, found);
  }
}

/**
 * `context.path like "p"`. Cedar's pattern tells a wildcard from an escaped `\*`; a pattern with
 * a literal star cannot be written as a PathTest, so it makes the path opaque.
 */
function likeTest({ left, pattern }: Operand<'like'>, found: Found): void {
  if (contextAttribute(left) !== 'path') return visit(left, found);
  const text = likePattern(pattern);
  found.pathTest(text === undefined ? undefined : { kind: 'like', pattern: text });
}

function likePattern(pattern: readonly PatternElem[]): string | undefined {
  let text = '';
  for (const element of pattern) {
    if (element !== 'Wildcard' && element.Literal.includes('*')) return undefined;
    text += element === 'Wildcard' ? '*' : element.Literal;
  }
  return text;
}

/** `context.path == "v"`, `!=`, either way round; any other comparison is walked through. */
function equalityTest({ left, right }: Operand<'=='>, found: Found): void {
  const [path, other] = contextAttribute(left) === 'path' ? [left, right] : [right, left];
  const value = contextAttribute(path) === 'path' ? stringLiteral(other) : undefined;
  if (value !== undefined) return found.pathTest({ kind: 'eq', value });
  visit(left, found);
  visit(right, found);
}

/**
 * `context.headers.getTag("name")` / `hasTag`, on `context.query`, or on an entity literal
 * (`Headers::"request"`, `Query::"request"`, `Namespace::"shop"`): that one name of that entity;
 * a computed name reads all of its tags. Reading a namespace's labels pulls no header into Cedar.
 */
function tagRead({ left, right }: Operand<'getTag'>, found: Found): void {
  const literal = entityLiteralType(left);
  const on = literal === 'Headers' ? 'headers' : literal === 'Query' ? 'query' : contextAttribute(left);
  if (literal !== undefined && on !== 'headers' && on !== 'query') {
    // Of the schema's other entity types only Namespace has tags.
    found.namespaceTags = true;
    return visit(right, found);
  }
  if (on !== 'headers' && on !== 'query') {
    found.otherTags = true;
    visit(left, found);
    return visit(right, found);
  }
  const name = stringLiteral(right);
  if (name !== undefined) return found.tag(on, name);
  found.attribute(on);
  visit(right, found);
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
