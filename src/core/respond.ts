import { policyDenied, type Decision, type ReasonCode } from './decision.js';
import { upstreamActor, upstreamPrincipal, type Identity } from './identity.js';

/** gRPC status codes Envoy reads from `CheckResponse.status`. */
const GrpcCode = { ok: 0, permissionDenied: 7, unavailable: 14, unauthenticated: 16 } as const;

/** `envoy.type.v3.StatusCode`: its values are the HTTP statuses Envoy answers the client with. */
const HttpStatus = { unauthorized: 401, forbidden: 403, serviceUnavailable: 503 } as const;
type HttpStatusCode = (typeof HttpStatus)[keyof typeof HttpStatus];

/** `envoy.config.core.v3.HeaderValueOption.HeaderAppendAction` OVERWRITE_IF_EXISTS_OR_ADD. */
const overwriteIfExistsOrAdd = 2;

export interface ResponseOptions {
  readonly principalHeader: string;
  readonly decisionHeader: string;
  readonly removeCredentials: boolean;
}

const dryRunHeader = 'x-gatehouse-dry-run';
export const assertionHeader = 'x-gatehouse-assertion';
export const actorHeader = 'x-gatehouse-actor';

/** A header mutation as `envoy.config.core.v3.HeaderValueOption` in protobufjs's form. */
export interface HeaderOption {
  header: { key: string; value: string };
  append_action: typeof overwriteIfExistsOrAdd;
}

/**
 * A `CheckResponse` in protobufjs's own form, which the gRPC server encodes as it is: field names
 * as in the .proto, enums by number (a name in an enum field would be encoded as 0), and only
 * the fields set that go on the wire.
 */
export interface CheckResponseMessage {
  status: { code: number; message: string };
  ok_response?: { headers: HeaderOption[]; headers_to_remove: readonly string[]; response_headers_to_add: HeaderOption[] };
  denied_response?: { status: { code: HttpStatusCode }; headers: HeaderOption[]; body: string };
  error_response?: { status: { code: HttpStatusCode }; headers: HeaderOption[]; body: string };
  dynamic_metadata?: { fields: Record<string, StructValue> };
}

type StructValue = { string_value: string } | { list_value: { values: StructValue[] } } | { bool_value: boolean };

// Envoy's enum default for HeaderValueOption appends, which would let a client-sent copy of a
// gatehouse header survive next to ours: every header we set says OVERWRITE explicitly.
const set = (key: string, value: string): HeaderOption => ({ header: { key, value }, append_action: overwriteIfExistsOrAdd });
const text = (value: string): StructValue => ({ string_value: value });

/**
 * On an allow's CheckResponse (not enumerable, so never serialized or compared): what its answer
 * is apart from its decision id, as one object per distinct answer, and the decision id. The
 * same principal, actor and determining policies (a decision-cache entry's) under the same
 * options give the same object, so a wire can keep the answer's encoding by it and write only
 * the id into a copy (src/wire/response-template.ts). Absent where an answer is not worth it.
 */
export const answerShape: unique symbol = Symbol('gatehouse.answerShape');
export const answerDecisionId: unique symbol = Symbol('gatehouse.answerDecisionId');

/** Distinct answers remembered per determining-policies array: beyond it (many principals sharing one decision), none. */
const maxShapesPerPolicies = 64;
const shapes = new WeakMap<ResponseOptions, WeakMap<readonly string[], Map<string, object>>>();

function shapeOf(options: ResponseOptions, policies: readonly string[], principal: string | undefined, actor: string | undefined): object | undefined {
  let byPolicies = shapes.get(options);
  if (byPolicies === undefined) shapes.set(options, (byPolicies = new WeakMap()));
  let byCaller = byPolicies.get(policies);
  if (byCaller === undefined) byPolicies.set(policies, (byCaller = new Map()));
  // Both lengths first (-1 for none): no two pairs spell the same key.
  const key = `${principal?.length ?? -1}:${actor?.length ?? -1}:${principal ?? ''}${actor ?? ''}`;
  let shape = byCaller.get(key);
  if (shape === undefined && byCaller.size < maxShapesPerPolicies) byCaller.set(key, (shape = Object.freeze({})));
  return shape;
}

/**
 * Who reads the response: gRPC's codec, or an HTTP wire, which answers with the status, headers
 * and body alone (Envoy's `http_service` has no dynamic metadata) and has no encoding to keep.
 */
export type ResponseReader = 'grpc' | 'http';

/**
 * Decision → CheckResponse. A deny never names the policy that matched; the decision log does.
 * Every gRPC response's `dynamic_metadata` carries the decision id, and a deny's its reason code,
 * for Envoy's access log and `gatehouse call`. `assertion`, when given, is the signed upstream
 * assertion for an allowed request.
 */
export function toCheckResponse(decision: Decision, decisionId: string, options: ResponseOptions, assertion?: string, reader: ResponseReader = 'grpc'): CheckResponseMessage {
  const grpc = reader === 'grpc';
  switch (decision.kind) {
    case 'allow': {
      const upstream = upstreamOf(decision.identity);
      const response = allowed(decisionId, options, upstream, decision.policies, undefined, assertion, grpc);
      const shape = grpc && assertion === undefined ? shapeOf(options, decision.policies, upstream.principal, upstream.actor) : undefined;
      if (shape !== undefined) {
        Object.defineProperty(response, answerShape, { value: shape });
        Object.defineProperty(response, answerDecisionId, { value: decisionId });
      }
      return response;
    }
    case 'deny':
      if (decision.dryRun) {
        return allowed(decisionId, options, upstreamOf(decision.identity), decision.policies, decision.code, undefined, grpc);
      }
      return denied(decision.status, decision.code, decisionId, options, grpc);
    case 'unavailable': {
      const response: CheckResponseMessage = {
        status: { code: GrpcCode.unavailable, message: 'authorization unavailable' },
        error_response: {
          status: { code: HttpStatus.serviceUnavailable },
          headers: [set(options.decisionHeader, decisionId)],
          body: 'authorization unavailable',
        },
      };
      if (grpc) response.dynamic_metadata = { fields: { decisionId: text(decisionId), code: text(decision.code) } };
      return response;
    }
    default: {
      const never: never = decision;
      return never;
    }
  }
}

/** Who the upstream is told called: the principal, and the workload acting for it. */
interface Upstream {
  readonly principal?: string;
  readonly actor?: string;
}

function upstreamOf(identity: Identity | undefined): Upstream {
  if (identity === undefined) return {};
  return { principal: upstreamPrincipal(identity), actor: upstreamActor(identity) };
}

function allowed(
  decisionId: string,
  options: ResponseOptions,
  { principal, actor }: Upstream,
  policies: readonly string[],
  /** The reason code of a dry-run deny, which goes upstream as an allow. */
  dryRunDeny: string | undefined,
  assertion: string | undefined,
  grpc: boolean,
): CheckResponseMessage {
  const headers = [set(options.decisionHeader, decisionId)];
  const remove: string[] = [];
  if (principal !== undefined) headers.push(set(options.principalHeader, principal));
  else remove.push(options.principalHeader);
  // Removed when nobody acts, so a client's own copy never reads as gatehouse's word.
  if (actor !== undefined) headers.push(set(actorHeader, actor));
  else remove.push(actorHeader);
  if (dryRunDeny !== undefined) headers.push(set(dryRunHeader, 'deny'));
  else remove.push(dryRunHeader);
  if (assertion !== undefined) headers.push(set(assertionHeader, assertion));
  else remove.push(assertionHeader);
  if (options.removeCredentials) remove.push('authorization');

  const response: CheckResponseMessage = {
    status: { code: GrpcCode.ok, message: '' },
    // The decision id also goes back to the client, so a caller can quote it when asking why.
    ok_response: { headers, headers_to_remove: remove, response_headers_to_add: [set(options.decisionHeader, decisionId)] },
  };
  if (!grpc) return response;
  const fields: Record<string, StructValue> = {
    decisionId: text(decisionId),
    policies: { list_value: { values: policies.map(text) } },
  };
  if (principal !== undefined) fields.principal = text(principal);
  if (dryRunDeny !== undefined) {
    fields.dryRunDeny = { bool_value: true };
    fields.code = text(dryRunDeny);
  }
  response.dynamic_metadata = { fields };
  return response;
}

function denied(status: 'forbidden' | 'unauthenticated', code: ReasonCode, decisionId: string, options: ResponseOptions, grpc: boolean): CheckResponseMessage {
  const headers = [set('content-type', 'application/json'), set(options.decisionHeader, decisionId)];
  let response: CheckResponseMessage;
  if (status === 'unauthenticated') {
    const badCredential = code !== policyDenied;
    headers.push(set('www-authenticate', badCredential ? 'Bearer realm="gatehouse", error="invalid_token"' : 'Bearer realm="gatehouse"'));
    response = {
      status: { code: GrpcCode.unauthenticated, message: 'unauthenticated' },
      denied_response: { status: { code: HttpStatus.unauthorized }, headers, body: JSON.stringify({ decision: 'deny', reason: 'unauthenticated', decisionId }) },
    };
  } else {
    response = {
      status: { code: GrpcCode.permissionDenied, message: code === policyDenied ? 'denied by policy' : 'request refused' },
      denied_response: { status: { code: HttpStatus.forbidden }, headers, body: JSON.stringify({ decision: 'deny', decisionId }) },
    };
  }
  if (grpc) response.dynamic_metadata = { fields: { decisionId: text(decisionId), code: text(code) } };
  return response;
}
