/**
 * A grpc-js client for a running gatehouse: Envoy's Authorization/Check and grpc.health.v1,
 * through the project's own service definitions (so requests are encoded exactly as the server
 * decodes them), plus a raw-bytes call for messages no well-behaved encoder would produce.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { authorizationService, CheckResponseType, healthService } from '../../src/wire/protos.js';

export const checkMethod = '/envoy.service.auth.v3.Authorization/Check';

/** A header mutation as the server's responses carry it. */
export interface HeaderOption {
  readonly header?: { readonly key?: string; readonly value?: string };
  readonly append_action?: string;
}

interface HttpResponsePart {
  readonly status?: { readonly code?: string };
  readonly headers?: readonly HeaderOption[];
  readonly headers_to_remove?: readonly string[];
  readonly body?: string;
}

/** A decoded CheckResponse: .proto field names, enums by name, unset fields absent. */
export interface CheckResponse {
  readonly status?: { readonly code?: number; readonly message?: string };
  readonly ok_response?: HttpResponsePart;
  readonly denied_response?: HttpResponsePart;
  readonly error_response?: HttpResponsePart;
  readonly dynamic_metadata?: { readonly fields?: Record<string, StructValue> };
}

export interface StructValue {
  readonly string_value?: string;
  readonly bool_value?: boolean;
  readonly number_value?: number;
  readonly list_value?: { readonly values?: readonly StructValue[] };
  readonly struct_value?: { readonly fields?: Record<string, StructValue> };
}

/** What a test says about one request; everything has a plausible default. */
export interface RequestSpec {
  /** `attributes.source.principal`, as Envoy sets it from the peer certificate's URI SAN. */
  readonly principal?: string;
  readonly method?: string;
  readonly path?: string;
  readonly host?: string;
  readonly scheme?: string;
  /** Extra request headers (lower-case names). */
  readonly headers?: Readonly<Record<string, string>>;
  /** `context_extensions.service`. */
  readonly service?: string;
  /** The `x-request-id` header; a fresh UUID unless given. */
  readonly requestId?: string;
  /** Sent as `authorization: Bearer …`. */
  readonly token?: string;
  readonly sourceAddress?: string;
}

export const frontend = 'spiffe://cluster.local/ns/shop/sa/frontend';
export const ordersHost = 'orders.shop.svc.cluster.local:8080';

/** A CheckRequest in the grpc-js shape (snake_case .proto names), shaped like Envoy's. */
export function checkRequest(spec: RequestSpec = {}): Record<string, unknown> {
  const method = spec.method ?? 'GET';
  const path = spec.path ?? '/';
  const host = spec.host ?? ordersHost;
  const scheme = spec.scheme ?? 'http';
  const headers: Record<string, string> = {
    ':authority': host,
    ':method': method,
    ':path': path,
    ':scheme': scheme,
    'x-request-id': spec.requestId ?? randomUUID(),
    'user-agent': 'gatehouse-e2e',
    ...spec.headers,
  };
  if (spec.token !== undefined) headers.authorization = `Bearer ${spec.token}`;
  return {
    attributes: {
      source: {
        address: { socket_address: { address: spec.sourceAddress ?? '10.1.2.3', port_value: 51234 } },
        ...(spec.principal === undefined ? {} : { principal: spec.principal }),
      },
      destination: { address: { socket_address: { address: '10.1.9.9', port_value: 8080 } } },
      request: { http: { id: '1', method, path, host, scheme, headers, protocol: 'HTTP/1.1' } },
      ...(spec.service === undefined ? {} : { context_extensions: { service: spec.service } }),
    },
  };
}

export type CallOutcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: grpc.ServiceError };

const AuthorizationClient = grpc.makeGenericClientConstructor(authorizationService, 'Authorization');
const HealthClient = grpc.makeGenericClientConstructor(healthService, 'Health');

type UnaryMethod<Req, Res> = (request: Req, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, value?: Res) => void) => grpc.ClientUnaryCall;

const defaultOptions: grpc.ChannelOptions = {
  // Tests send messages above the server's limit on purpose; the client must not refuse them first.
  'grpc.max_send_message_length': -1,
  'grpc.max_receive_message_length': -1,
};

export class GatehouseClient {
  private readonly authorization: grpc.Client;
  private readonly health: grpc.Client;

  constructor(
    readonly target: string,
    options: grpc.ChannelOptions = {},
  ) {
    const channelOptions = { ...defaultOptions, ...options };
    this.authorization = new AuthorizationClient(target, grpc.credentials.createInsecure(), channelOptions);
    // A channel of its own, so a health probe never shares a connection with the load under test.
    this.health = new HealthClient(target, grpc.credentials.createInsecure(), { ...channelOptions, 'grpc.use_local_subchannel_pool': 1 });
  }

  /** Authorization/Check; resolves with the response or the gRPC error, never rejects. */
  checkOutcome(request: Record<string, unknown>, timeoutMs = 5000): Promise<CallOutcome<CheckResponse>> {
    return unary(this.authorization, 'Check', request, timeoutMs);
  }

  /** Authorization/Check; rejects on a gRPC error. */
  async check(request: Record<string, unknown>, timeoutMs = 5000): Promise<CheckResponse> {
    const outcome = await this.checkOutcome(request, timeoutMs);
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  /** grpc.health.v1 Health/Check: the serving status name. */
  async healthStatus(service = '', timeoutMs = 5000): Promise<string> {
    const outcome = await unary<{ service: string }, { status?: string }>(this.health, 'Check', { service }, timeoutMs);
    if (!outcome.ok) throw outcome.error;
    return outcome.value.status ?? 'UNKNOWN';
  }

  healthOutcome(service = '', timeoutMs = 5000): Promise<CallOutcome<{ status?: string }>> {
    return unary(this.health, 'Check', { service }, timeoutMs);
  }

  /** grpc.health.v1 Health/Watch: every status pushed, and how the stream ended. */
  watchHealth(service = ''): HealthWatch {
    const method = (this.health as unknown as Record<string, (request: unknown) => grpc.ClientReadableStream<{ status?: string }>>).Watch;
    if (method === undefined) throw new Error('the Health client has no Watch method');
    const stream = method.call(this.health, { service });
    const watch: HealthWatch = { statuses: [], ended: undefined, cancel: () => stream.cancel() };
    stream.on('data', (message: { status?: string }) => watch.statuses.push(message.status ?? 'UNKNOWN'));
    stream.on('error', (error: grpc.ServiceError) => {
      watch.ended ??= { code: error.code, details: error.details };
    });
    stream.on('status', (status: grpc.StatusObject) => {
      watch.ended ??= { code: status.code, details: status.details };
    });
    return watch;
  }

  /**
   * Any bytes as the request message of `method`, with no encoding on our side: for zero-byte,
   * garbage, hand-built and oversized messages. The response comes back as bytes too.
   */
  raw(bytes: Uint8Array, timeoutMs = 5000, method = checkMethod): Promise<CallOutcome<Buffer>> {
    return new Promise((resolve) => {
      this.authorization.makeUnaryRequest<Buffer, Buffer>(
        method,
        (value) => value,
        (value) => value,
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (error, value) => resolve(error ? { ok: false, error } : { ok: true, value: value ?? Buffer.alloc(0) }),
      );
    });
  }

  close(): void {
    this.authorization.close();
    this.health.close();
  }
}

export interface HealthWatch {
  readonly statuses: string[];
  ended: { code: number; details: string } | undefined;
  cancel(): void;
}

function unary<Req, Res>(client: grpc.Client, name: string, request: Req, timeoutMs: number): Promise<CallOutcome<Res>> {
  const method = (client as unknown as Record<string, UnaryMethod<Req, Res>>)[name];
  if (method === undefined) throw new Error(`the client has no ${name} method`);
  return new Promise((resolve) => {
    method.call(client, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (error, value) =>
      resolve(error ? { ok: false, error } : { ok: true, value: value as Res }),
    );
  });
}

/** Raw CheckResponse bytes → the same shape grpc-js hands `check()` callers. */
export function decodeCheckResponse(bytes: Uint8Array): CheckResponse {
  return CheckResponseType.toObject(CheckResponseType.decode(bytes), { longs: String, enums: String, defaults: false }) as CheckResponse;
}

/** The gRPC status code inside a CheckResponse (proto3 leaves an explicit 0 off the wire). */
export function statusCode(response: CheckResponse): number {
  return response.status?.code ?? 0;
}

/** The header options of whichever HTTP part the response carries. */
export function responseHeaders(response: CheckResponse): readonly HeaderOption[] {
  return (response.ok_response ?? response.denied_response ?? response.error_response)?.headers ?? [];
}

/** The one header option named `key`; fails when it is missing or repeated. */
export function headerOption(response: CheckResponse, key: string): HeaderOption {
  const found = responseHeaders(response).filter((option) => option.header?.key === key);
  if (found.length !== 1) throw new Error(`expected one ${key} header option, found ${found.length}: ${JSON.stringify(response)}`);
  return found[0]!;
}

export function headerValue(response: CheckResponse, key: string): string | undefined {
  return responseHeaders(response).find((option) => option.header?.key === key)?.header?.value;
}

/** A google.protobuf.Value → plain JSON. */
export function plainValue(value: StructValue | undefined): unknown {
  if (value === undefined) return undefined;
  if (value.string_value !== undefined) return value.string_value;
  if (value.bool_value !== undefined) return value.bool_value;
  if (value.number_value !== undefined) return value.number_value;
  if (value.list_value !== undefined) return (value.list_value.values ?? []).map(plainValue);
  if (value.struct_value !== undefined) return plainMetadata(value.struct_value.fields);
  return null;
}

export function plainMetadata(fields: Record<string, StructValue> | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields ?? {}).map(([key, value]) => [key, plainValue(value)]));
}
