import { parseRequest, type RequestSubject } from '../../src/core/parse-request.js';
import type { RequestFacts } from '../../src/core/request-facts.js';

/** The parse step's subject of `facts`; `path` replaces its path and query where a test sets them itself. */
export function parsedSubject(facts: RequestFacts, path?: { readonly path: string; readonly query: string }): RequestSubject {
  const { request } = parseRequest(facts);
  return path === undefined ? request : { ...request, path: path.path, query: path.query };
}
