/**
 * Hostile and broken CheckRequests against the real server. Every request below would be an
 * allow if gatehouse read it naively (the frontend reading an order), so each case asserts its
 * own outcome, that it is not an allow, and that the server still answers a normal Check after it.
 */
import { encodeCheckRequest } from '../../src/wire/protos.js';
import {
  checkRequest,
  decodeCheckResponse,
  frontend,
  GatehouseClient,
  headerValue,
  statusCode,
  type CallOutcome,
  type CheckResponse,
  type RequestSpec,
} from '../support/check-client.js';
import { cleanup, startGatehouse, type ServerProcess } from '../support/server-process.js';

const allowed: RequestSpec = { principal: frontend, method: 'GET', path: '/api/orders/1' };
const grpcStatus = { INTERNAL: 13, RESOURCE_EXHAUSTED: 8 } as const;

let server: ServerProcess;
let client: GatehouseClient;

beforeAll(async () => {
  server = await startGatehouse();
  client = new GatehouseClient(server.grpcTarget);
});

afterAll(async () => {
  client?.close();
  await cleanup();
});

afterEach(async () => {
  // Whatever the case did, the server is still up and still decides normally.
  expect(server.exitInfo).toBeUndefined();
  const response = await client.check(checkRequest(allowed));
  expect(statusCode(response)).toBe(0);
  expect(headerValue(response, 'x-gatehouse-principal')).toBe(frontend);
});

/** Bytes → the CheckResponse, or the gRPC error. */
async function sendRaw(bytes: Uint8Array, timeoutMs = 10000): Promise<CallOutcome<CheckResponse>> {
  const outcome = await client.raw(bytes, timeoutMs);
  return outcome.ok ? { ok: true, value: decodeCheckResponse(outcome.value) } : outcome;
}

/**
 * `bytes` with every occurrence of the ASCII `marker` replaced by `replacement` of the same
 * length, so the protobuf length prefixes stay right: how a string field gets invalid UTF-8,
 * which no protobuf encoder will write.
 */
function splice(bytes: Uint8Array, marker: string, replacement: readonly number[]): Buffer {
  if (replacement.length !== marker.length) throw new Error('the replacement must be as long as the marker');
  const out = Buffer.from(bytes);
  const needle = Buffer.from(marker, 'ascii');
  let found = 0;
  for (let at = out.indexOf(needle); at !== -1; at = out.indexOf(needle, at + needle.length)) {
    out.set(replacement, at);
    found += 1;
  }
  if (found === 0) throw new Error(`marker ${marker} not found`);
  return out;
}

/** A deny with a reason in the log; never an allow. */
async function expectDeny(outcome: CallOutcome<CheckResponse>, expected: { status: number; reason: string; detail: RegExp }): Promise<void> {
  if (!outcome.ok) throw new Error(`expected a deny, got gRPC error ${outcome.error.code}: ${outcome.error.details}`);
  const response = outcome.value;
  expect(statusCode(response)).toBe(expected.status);
  expect(response.ok_response).toBeUndefined();
  expect(response.denied_response).toBeDefined();
  const decisionId = headerValue(response, 'x-gatehouse-decision-id');
  expect(decisionId).toBeDefined();
  const line = await server.decision(decisionId!);
  expect(line.decision).toBe('deny');
  expect(line.reason).toBe(expected.reason);
  expect(line.detail).toMatch(expected.detail);
  // Whatever the caller sent, the line stays one bounded JSON line.
  expect(JSON.stringify(line).length).toBeLessThan(16 * 1024);
}

function expectGrpcError(outcome: CallOutcome<CheckResponse>, codes: readonly number[]): void {
  if (outcome.ok) throw new Error(`expected a gRPC error, got ${JSON.stringify(outcome.value).slice(0, 500)}`);
  expect(codes).toContain(outcome.error.code);
}

/** A gRPC error or a deny: anything but an allow. */
function expectNotAllowed(outcome: CallOutcome<CheckResponse>): void {
  if (outcome.ok) {
    expect(statusCode(outcome.value)).not.toBe(0);
    expect(outcome.value.ok_response).toBeUndefined();
  } else {
    expect(outcome.error.code).not.toBe(0);
  }
}

describe('empty and partial requests', () => {
  test('an empty CheckRequest (zero bytes) is denied with a logged reason', async () => {
    await expectDeny(await sendRaw(new Uint8Array(0)), { status: 7, reason: 'bad_request', detail: /no HTTP attributes/ });
  });

  test.each<[string, Record<string, unknown>]>([
    ['no attributes', {}],
    ['attributes with only a source', { attributes: { source: { principal: frontend } } }],
    ['a request without http', { attributes: { source: { principal: frontend }, request: {} } }],
  ])('%s is denied', async (_name, request) => {
    await expectDeny(await client.checkOutcome(request), { status: 7, reason: 'bad_request', detail: /no HTTP attributes/ });
  });

  test('http attributes without a method or path are denied', async () => {
    const request = { attributes: { source: { principal: frontend }, request: { http: { host: 'orders.shop.svc.cluster.local:8080' } } } };
    const outcome = await client.checkOutcome(request);
    expectNotAllowed(outcome);
    if (!outcome.ok) throw outcome.error;
    const line = await server.decision(headerValue(outcome.value, 'x-gatehouse-decision-id')!);
    expect(line.decision).toBe('deny');
    expect(line.reason).not.toBe('');
  });
});

describe('headers', () => {
  test.each([
    ['CR', 'ok\rInjected: yes'],
    ['LF', 'ok\nx-gatehouse-principal: admin'],
    ['CRLF', 'ok\r\n\r\nGET /admin HTTP/1.1'],
    ['NUL', 'ok\0hidden'],
  ])('a header value with %s is denied', async (_name, value) => {
    const outcome = await client.checkOutcome(checkRequest({ ...allowed, headers: { 'x-note': value } }));
    await expectDeny(outcome, { status: 7, reason: 'bad_request', detail: /CR, LF or NUL/ });
    expect(server.decisions.some((line) => JSON.stringify(line).includes('Injected'))).toBe(false);
  });

  test('a header name with LF is denied', async () => {
    const outcome = await client.checkOutcome(checkRequest({ ...allowed, headers: { 'x-a\nx-b': 'v' } }));
    await expectDeny(outcome, { status: 7, reason: 'bad_request', detail: /CR, LF or NUL/ });
  });

  test('a 1 MiB header value is denied', async () => {
    const outcome = await client.checkOutcome(checkRequest({ ...allowed, headers: { 'x-big': 'a'.repeat(1024 * 1024) } }), 10000);
    await expectDeny(outcome, { status: 7, reason: 'bad_request', detail: /headers larger than/ });
  });

  test('10,000 headers are denied', async () => {
    const headers = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`x-h-${i}`, `v${i}`]));
    const outcome = await client.checkOutcome(checkRequest({ ...allowed, headers }), 10000);
    await expectDeny(outcome, { status: 7, reason: 'bad_request', detail: /more than \d+ headers/ });
  });
});

describe('methods and paths', () => {
  test('an unknown method (BREW) is denied', async () => {
    await expectDeny(await client.checkOutcome(checkRequest({ ...allowed, method: 'BREW' })), { status: 7, reason: 'bad_request', detail: /unknown method "BREW"/ });
  });

  test('an empty method is denied', async () => {
    const outcome = await client.checkOutcome(checkRequest({ ...allowed, method: '', headers: { ':method': '' } }));
    await expectDeny(outcome, { status: 7, reason: 'bad_request', detail: /unknown method/ });
  });

  const marker = 'ZZINVALIDZZ';
  test.each<[string, number[]]>([
    ['invalid bytes (0xFF, lone continuation, truncated sequences)', [0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28]],
    // An overlong "." that a lenient decoder reads as ASCII would make "/api/orders/../../admin".
    ['overlong encodings of "." and "/"', [0xc0, 0xae, 0xc0, 0xae, 0xc0, 0xaf, 0xc0, 0xae, 0xc0, 0xae, 0x2f]],
    ['an encoded surrogate half', [0xed, 0xa0, 0x80, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68]],
  ])('a path with non-UTF-8 bytes is denied: %s', async (_name, bytes) => {
    const encoded = encodeCheckRequest(checkRequest({ ...allowed, path: `/api/orders/${marker}` }));
    await expectDeny(await sendRaw(splice(encoded, marker, bytes)), { status: 7, reason: 'bad_path', detail: /non-ASCII/ });
  });
});

describe('messages that are not CheckRequests', () => {
  test('a message larger than the 4 MiB default limit is RESOURCE_EXHAUSTED', async () => {
    const encoded = encodeCheckRequest(checkRequest({ ...allowed, headers: { 'x-huge': 'a'.repeat(5 * 1024 * 1024) } }));
    expect(encoded.length).toBeGreaterThan(4 * 1024 * 1024);
    expectGrpcError(await sendRaw(encoded, 15000), [grpcStatus.RESOURCE_EXHAUSTED]);
  });

  test.each<[string, Uint8Array]>([
    ['a length prefix far beyond the message', Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])],
    ['an invalid wire type', Uint8Array.from([0x0f, 0x01, 0x02, 0x03])],
    ['a field number of zero', Uint8Array.from([0x00, 0x00, 0x00])],
    ['a truncated varint', Uint8Array.from([0x08, 0xff, 0xff, 0xff])],
    ['a nested message cut short', encodeCheckRequest(checkRequest(allowed)).slice(0, 40)],
    ['text', new TextEncoder().encode('GET /api/orders/1 HTTP/1.1\r\nHost: orders.shop\r\n\r\n')],
    ['pseudo-random bytes', pseudoRandomBytes(4096, 0x5eed)],
  ])('garbage (%s) is a gRPC error or a deny, never an allow', async (_name, bytes) => {
    const outcome = await sendRaw(bytes);
    expectNotAllowed(outcome);
    if (!outcome.ok) expect([grpcStatus.INTERNAL]).toContain(outcome.error.code);
  });
});

/** Deterministic filler (xorshift32), so a failure can be replayed byte for byte. */
function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    out[i] = state & 0xff;
  }
  return out;
}
