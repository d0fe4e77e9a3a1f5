import { ErrorCode } from '../errors.js';
import type { Subject } from './decision.js';
import { normalizePath, type PathParameters } from './path.js';
import type { RequestFacts } from './request-facts.js';
import { serviceFromRequest, type ServiceName } from './resource.js';
import { SpiffeId } from './spiffe-id.js';

/**
 * What a Check asks for, parsed once from the request facts before any credential is looked at:
 * every later step (identity, Cedar, the cache, the log, the CLI) reads these values and never
 * derives the service, path or destination again.
 */
export interface RequestSubject {
  /** Envoy's `x-request-id`, '' when absent. */
  readonly requestId: string;
  /** The HTTP method as sent; a method no policy can name is refused by `decide`. */
  readonly method: string;
  /** The normalized path policies see, without the query; '' when the path was refused. */
  readonly path: string;
  /** The query exactly as sent, without the `?`. */
  readonly query: string;
  /** The destination service: from the operator's route, or from the Host header. */
  readonly service: ServiceName;
  /** The destination workload, from Envoy's own certificate, when Envoy named it. */
  readonly destination: SpiffeId | undefined;
  /**
   * The destination namespace as far as sources the caller cannot choose tell it: the route's
   * service, else the destination workload's SPIFFE ID. Dry-run is decided on this alone.
   */
  readonly trustedNamespace: string | undefined;
}

/** A parsed request, or the parsed parts with why the request is refused before identity. */
export type ParsedRequest =
  | { readonly ok: true; readonly request: RequestSubject }
  | { readonly ok: false; readonly request: RequestSubject; readonly code: ErrorCode; readonly reason: string };

/** How requests are read where backends disagree (config `request`). */
export interface RequestOptions {
  readonly pathParameters: PathParameters;
}

export const defaultRequestOptions: RequestOptions = Object.freeze({ pathParameters: 'reject' });

/** Pure: facts → the request's subject, or the problems that refuse it (a malformed request costs no signature check). */
export function parseRequest(facts: RequestFacts, options: RequestOptions = defaultRequestOptions): ParsedRequest {
  const service = serviceFromRequest(facts.contextExtensions, facts.host);
  const normalized = normalizePath(facts.rawPath, options.pathParameters);
  const parsedDestination = facts.destination.principal === '' ? undefined : SpiffeId.parse(facts.destination.principal);
  const destination = parsedDestination?.ok ? parsedDestination.value : undefined;
  const destinationNamespace = destination?.kubernetesParts()?.namespace;
  const request: RequestSubject = {
    requestId: facts.requestId,
    method: facts.method,
    path: normalized.ok ? normalized.value.path : '',
    query: normalized.ok ? normalized.value.query : '',
    service,
    destination,
    // The caller chooses the Host header, so it never chooses dry-run.
    trustedNamespace: service.from === 'route' ? service.namespace : destinationNamespace,
  };
  const refuse = (code: ErrorCode, reason: string): ParsedRequest => ({ ok: false, request, code, reason });

  if (facts.problems.length > 0) return refuse(ErrorCode.badRequest, facts.problems.join('; '));
  if (!normalized.ok) return refuse(ErrorCode.badPath, normalized.reason);
  if (service.from === 'host' && destinationNamespace !== undefined && service.namespace !== undefined && service.namespace !== destinationNamespace) {
    return refuse(ErrorCode.destinationMismatch, `host names namespace ${service.namespace} but the destination workload is in ${destinationNamespace}`);
  }
  return { ok: true, request };
}

/** What was asked, in the terms the decision log and responses use. */
export function subjectOf(request: RequestSubject): Subject {
  return { action: request.method, resource: request.service.name, resourceNamespace: request.service.namespace, path: request.path };
}
