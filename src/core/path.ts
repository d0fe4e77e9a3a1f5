import { fail, type Result } from './result.js';

/** The request path policies match on, and the query kept exactly as sent. */
export interface NormalizedPath {
  /** Starts with `/`; unreserved escapes decoded, other escapes upper-cased, no dot segments. */
  readonly path: string;
  /** Text after the first `?`, without it; `''` when there is none. */
  readonly query: string;
}

// Well above any real route and below Envoy's default 60 KiB header budget.
const MAX_TARGET_LENGTH = 8192;

// RFC 3986 pchar without pct-encoded: unreserved, sub-delims, ':' and '@'.
const LITERAL_PATH_CHAR = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]$/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const HEX_PAIR = /^[0-9A-Fa-f]{2}$/;
// A path that normalization leaves as it is: literal characters only (no escape, no `;`, no
// backslash), and no dot segment, which can only start right after a `/`.
const PLAIN_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,=:@/]*$/;

// Backends disagree on whether these separate segments or end a string; refusing is the only safe reading.
const ESCAPE_PROBLEMS: ReadonlyMap<string, string> = new Map([
  ['00', 'path contains NUL'],
  ['2F', 'path contains an encoded "/"'],
  ['5C', 'path contains an encoded backslash'],
  // Some servers decode before they cut parameters, others after: either reading is a guess.
  ['3B', 'path contains an encoded ";"'],
]);

/**
 * What to do with `;` path parameters (`/a;x=1/b`, `/a/..;/b`): Tomcat, Jetty and Spring cut
 * them off each segment before they resolve dot segments, so `/docs/x/..;/internal` is served as
 * `/docs/internal`, while a prefix test on the raw path sees `/docs/x/...`. `reject` refuses
 * such a path; `strip` cuts the parameters off as those servers do, before dot segments.
 */
export type PathParameters = 'reject' | 'strip';

/**
 * Turns Envoy's `:path` (the request target, query included) into the path a policy should see,
 * so that every spelling of one resource yields one string and every spelling that could make a
 * backend see another resource is refused.
 * Repeated slashes are kept: merging them is Envoy's `merge_slashes`, the operator's choice.
 */
export function normalizePath(rawPath: string, pathParameters: PathParameters = 'reject'): Result<NormalizedPath> {
  if (rawPath.length > MAX_TARGET_LENGTH) return fail(`path is longer than ${MAX_TARGET_LENGTH} characters`);
  const targetProblem = requestTargetProblem(rawPath);
  if (targetProblem !== undefined) return fail(targetProblem);
  if (!rawPath.startsWith('/')) return fail('path must start with "/"');
  // A client never sends a fragment; one in the target was put there to split parsers.
  if (rawPath.includes('#')) return fail('path contains "#"');

  const questionMark = rawPath.indexOf('?');
  const path = questionMark === -1 ? rawPath : rawPath.slice(0, questionMark);
  const query = questionMark === -1 ? '' : rawPath.slice(questionMark + 1);
  // The query is passed on untouched, but a NUL in it is as hostile as one in the path.
  if (/%00/.test(query)) return fail('path contains NUL');

  // Most paths: nothing to decode, no parameters, no dot segments.
  if (PLAIN_PATH.test(path) && !path.includes('/.')) return { ok: true, value: { path, query } };
  const resolved = resolvePath(path, pathParameters);
  return resolved.ok ? { ok: true, value: { path: resolved.value, query } } : resolved;
}

/**
 * The path part of a target (no query, printable ASCII) with unreserved escapes decoded, other
 * escapes upper-cased, parameters handled as asked and dot segments removed. Exported for the test
 * that holds normalizePath's shortcut for plain paths to it.
 */
export function resolvePath(path: string, pathParameters: PathParameters): Result<string> {
  const decoded = decodeUnreserved(path);
  if (!decoded.ok) return decoded;
  // Parameters never reach a message: they carry session ids (`;jsessionid=…`).
  if (decoded.value.includes(';')) {
    if (pathParameters === 'reject') return fail('path has a ";" parameter (request.pathParameters: reject)');
    return { ok: true, value: removeDotSegments(stripParameters(decoded.value)) };
  }
  return { ok: true, value: removeDotSegments(decoded.value) };
}

/** Every segment's `;…` cut off, as servlet containers do before resolving dot segments. */
function stripParameters(path: string): string {
  return path
    .split('/')
    .map((segment) => {
      const semicolon = segment.indexOf(';');
      return semicolon === -1 ? segment : segment.slice(0, semicolon);
    })
    .join('/');
}

// Envoy only forwards printable ASCII targets; anything else was crafted to confuse a parser.
function requestTargetProblem(target: string): string | undefined {
  for (let i = 0; i < target.length; i++) {
    const code = target.charCodeAt(i);
    if (code === 0x00) return 'path contains NUL';
    if (code < 0x20 || code === 0x7f) return 'path contains a control character';
    if (code === 0x20) return 'path contains a space';
    if (code > 0x7f) return 'path contains a non-ASCII character';
  }
  return undefined;
}

// RFC 3986 §6.2.2.2: decoding unreserved characters never changes what a URI names; decoding
// anything else could, so other escapes are only put in one spelling.
function decodeUnreserved(path: string): Result<string> {
  let decoded = '';
  let position = 0;
  while (position < path.length) {
    const char = path.charAt(position);
    if (char === '%') {
      const hex = path.slice(position + 1, position + 3);
      if (!HEX_PAIR.test(hex)) return fail('path has an invalid percent-encoding');
      const escapeProblem = ESCAPE_PROBLEMS.get(hex.toUpperCase());
      if (escapeProblem !== undefined) return fail(escapeProblem);
      const byte = String.fromCharCode(parseInt(hex, 16));
      decoded += UNRESERVED.test(byte) ? byte : `%${hex.toUpperCase()}`;
      position += 3;
      continue;
    }
    if (char === '\\') return fail('path contains a backslash');
    if (char !== '/' && !LITERAL_PATH_CHAR.test(char)) {
      return fail('path contains a character that must be percent-encoded');
    }
    decoded += char;
    position += 1;
  }
  return { ok: true, value: decoded };
}

/** RFC 3986 §5.2.4 on a path that starts with `/`; a `..` above the root stays at the root. */
function removeDotSegments(path: string): string {
  const segments = path.slice(1).split('/');
  const output: string[] = [];
  for (const [index, segment] of segments.entries()) {
    const isDot = segment === '.' || segment === '..';
    if (segment === '..') output.pop();
    if (!isDot) output.push(segment);
    // A trailing dot segment names a directory: `/a/b/..` is `/a/`, not `/a`.
    else if (index === segments.length - 1) output.push('');
  }
  return `/${output.join('/')}`;
}
