import type { PolicyJson } from '../policy/cedar/engine.js';

/** A request path to try, and the policy condition it was made to satisfy (null for the neutral path). */
export interface PathProbe {
  readonly path: string;
  readonly condition: string | null;
}

/** A header or query parameter a policy tests, and a value that satisfies its equality test when it has one. */
export interface TagProbe {
  readonly on: 'headers' | 'query';
  readonly name: string;
  readonly value: string;
}

/** What a policy's conditions test about the request, as values to put into representative requests. */
export interface RequestProbes {
  readonly paths: readonly PathProbe[];
  readonly tags: readonly TagProbe[];
}

/** The path every cell is tried on besides the paths its policies name: it matches no route pattern but `*`. */
export const neutralPath: PathProbe = Object.freeze({ path: '/', condition: null });

// A tag whose policies never compare it to a value only needs to be present.
const anyTagValue = 'x';

type PatternElement = 'Wildcard' | { Literal: string };

/**
 * Walks a policy's `when` and `unless` clauses for tests on `context.path` (`like`, `==`, `!=`,
 * `[…].contains(context.path)`) and on header or query tags (`hasTag`, `getTag … == "v"`).
 * Anything else is left to Cedar: the probes only choose which requests to ask it about.
 */
export function requestProbes(json: PolicyJson): RequestProbes {
  const paths = new Map<string, PathProbe>();
  const tags = new Map<string, TagProbe>();
  const addPath = (probe: PathProbe | undefined): void => {
    if (probe !== undefined && !paths.has(probe.path)) paths.set(probe.path, probe);
  };
  const addTag = (on: 'headers' | 'query', name: string, value: string | undefined): void => {
    const key = `${on}\n${name}`;
    const known = tags.get(key);
    if (known === undefined || (known.value === anyTagValue && value !== undefined)) tags.set(key, { on, name, value: value ?? anyTagValue });
  };

  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (!isRecord(node)) return;
    for (const [op, arg] of Object.entries(node)) {
      if (isRecord(arg)) {
        if (op === 'like' && isContextAttr(arg.left, 'path') && Array.isArray(arg.pattern)) addPath(likeProbe(arg.pattern as PatternElement[]));
        if (op === '==' || op === '!=') {
          addPath(equalityProbe(arg.left, arg.right) ?? equalityProbe(arg.right, arg.left));
          // Only `==` names a value that satisfies the test; for `!=` any other value does.
          const [tag, other] = tagTest(arg.left, 'getTag') !== undefined ? [tagTest(arg.left, 'getTag'), arg.right] : [tagTest(arg.right, 'getTag'), arg.left];
          if (tag !== undefined) addTag(tag.on, tag.name, op === '==' ? stringValue(other) : undefined);
        }
        if (op === 'contains' && isContextAttr(arg.right, 'path') && isRecord(arg.left) && Array.isArray(arg.left.Set)) {
          for (const member of arg.left.Set) addPath(literalProbe(stringValue(member)));
        }
        if (op === 'hasTag' || op === 'getTag') {
          const tag = tagTest(node, op);
          if (tag !== undefined) addTag(tag.on, tag.name, undefined);
        }
      }
      visit(arg);
    }
  };
  for (const clause of json.conditions) visit(clause.body);
  return { paths: [...paths.values()], tags: [...tags.values()] };
}

/** Cedar's `like` semantics: `*` matches any run of characters, `\*` a star. */
export function likeMatches(pattern: readonly PatternElement[], text: string): boolean {
  const source = pattern.map((element) => (element === 'Wildcard' ? '[\\s\\S]*' : element.Literal.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`).test(text);
}

/**
 * A path the pattern matches. A wildcard right after `/` (or at the start) becomes a segment
 * `x`, any other wildcard nothing: `/api/orders*` gives `/api/orders`, `/v2/*` gives `/v2/x`.
 * Patterns no request path can match (one not starting with `/`) give no probe.
 */
function likeProbe(pattern: readonly PatternElement[]): PathProbe | undefined {
  let path = '';
  for (const element of pattern) {
    if (element !== 'Wildcard') path += element.Literal;
    else if (path === '' || path.endsWith('/')) path += 'x';
  }
  const condition = `like ${JSON.stringify(patternText(pattern))}`;
  if (path.startsWith('/') && likeMatches(pattern, path)) return { path, condition };
  if (likeMatches(pattern, `/${path}`)) return { path: `/${path}`, condition };
  return undefined;
}

function patternText(pattern: readonly PatternElement[]): string {
  return pattern.map((element) => (element === 'Wildcard' ? '*' : element.Literal.replace(/\*/g, '\\*'))).join('');
}

function equalityProbe(pathSide: unknown, valueSide: unknown): PathProbe | undefined {
  return isContextAttr(pathSide, 'path') ? literalProbe(stringValue(valueSide)) : undefined;
}

function literalProbe(value: string | undefined): PathProbe | undefined {
  return value !== undefined && value.startsWith('/') ? { path: value, condition: `== ${JSON.stringify(value)}` } : undefined;
}

/** `context.headers.hasTag("x")` / `getTag("x")` (or on `context.query`) → where and which tag. */
function tagTest(node: unknown, op: 'hasTag' | 'getTag'): { on: 'headers' | 'query'; name: string } | undefined {
  if (!isRecord(node)) return undefined;
  const call = node[op];
  if (!isRecord(call)) return undefined;
  const name = stringValue(call.right);
  if (name === undefined) return undefined;
  if (isContextAttr(call.left, 'headers')) return { on: 'headers', name };
  if (isContextAttr(call.left, 'query')) return { on: 'query', name };
  return undefined;
}

function isContextAttr(node: unknown, attr: string): boolean {
  if (!isRecord(node)) return false;
  const access = node['.'];
  return isRecord(access) && access.attr === attr && isRecord(access.left) && access.left.Var === 'context';
}

function stringValue(node: unknown): string | undefined {
  return isRecord(node) && typeof node.Value === 'string' ? node.Value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
