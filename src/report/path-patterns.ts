/**
 * Observed request paths collapsed into the narrowest route patterns that cover them: a path seen
 * on its own stays exact (`== "/healthz"`); a route whose next segments are identifiers, or more
 * than a few names, or that the log's bounds already coarsened, becomes the route and what lies
 * under it (`== "/x" || like "/x/*"`, the `==` only when `/x` itself was seen).
 */

/** A path as observed, or (`below`) a route standing for itself and every path under it. */
export interface ObservedPath {
  readonly path: string;
  readonly below: boolean;
}

export type PathPattern = { readonly kind: 'exact'; readonly path: string } | { readonly kind: 'below'; readonly path: string; readonly self: boolean };

/** More distinct names than this under one route are taken as values, not routes. */
export const maxNamedChildren = 4;

interface Node {
  seen: boolean;
  below: boolean;
  readonly children: Map<string, Node>;
}

export function collapsePaths(paths: readonly ObservedPath[]): PathPattern[] {
  const root: Node = node();
  for (const { path, below } of paths) {
    let at = root;
    for (const segment of segments(path)) {
      let next = at.children.get(segment);
      if (next === undefined) {
        next = node();
        at.children.set(segment, next);
      }
      at = next;
    }
    if (below) at.below = true;
    else at.seen = true;
  }
  const patterns: PathPattern[] = [];
  const walk = (at: Node, path: string): void => {
    const children = [...at.children.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const collapse = at.below || children.length > maxNamedChildren || children.some(([segment]) => isIdentifier(segment));
    if (collapse) {
      patterns.push({ kind: 'below', path: path === '' ? '/' : path, self: at.seen || at.below });
      return;
    }
    if (at.seen) patterns.push({ kind: 'exact', path: path === '' ? '/' : path });
    for (const [segment, child] of children) walk(child, `${path}/${segment}`);
  };
  walk(root, '');
  return patterns;
}

/** Whether `path` is one the pattern covers, as Cedar would evaluate the condition `patternCondition` makes. */
export function patternCovers(pattern: PathPattern, path: string): boolean {
  if (pattern.kind === 'exact') return path === pattern.path;
  if (pattern.self && path === pattern.path) return true;
  return path.startsWith(pattern.path === '/' ? '/' : `${pattern.path}/`);
}

/** The Cedar condition on `context.path` for a pattern (of suggestable paths: no quote or backslash to escape). */
export function patternCondition(pattern: PathPattern): string {
  if (pattern.kind === 'exact') return `context.path == "${pattern.path}"`;
  const prefix = pattern.path === '/' ? '/' : `${pattern.path}/`;
  const like = `context.path like "${prefix.replace(/\*/g, '\\*')}*"`;
  return pattern.self && pattern.path !== '/' ? `context.path == "${pattern.path}" || ${like}` : like;
}

/**
 * Paths a suggestion can name: printable ASCII without quotes or backslashes, as a normalized
 * path is. Anything else (a value the log cut with `…`, an escaped control character) is left out.
 */
export function isSuggestablePath(path: string): boolean {
  return path.startsWith('/') && /^[\x21-\x7e]*$/.test(path) && !/["\\]/.test(path);
}

/** The route above `path`: `/a/b` → `/a`, `/a` → `/`. */
export function parentPath(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

function segments(path: string): string[] {
  return path.split('/').slice(1);
}

/** A segment that names one thing rather than a route: a number, a UUID, a long hex or mixed token. */
function isIdentifier(segment: string): boolean {
  return /^\d+$/.test(segment) || /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(segment) || (/^[0-9a-z_-]{16,}$/i.test(segment) && /\d/.test(segment));
}

function node(): Node {
  return { seen: false, below: false, children: new Map() };
}
