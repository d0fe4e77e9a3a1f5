/**
 * The request-size limits at their edges, against the real server: the safe defaults, gRPC
 * message size (`limits.maxMessageBytes`), header count (`maxHeaders`) and header bytes
 * (`maxHeaderBytes`), and the request body, which gatehouse never reads (see docs/security.md). At the limit a request is decided normally; one over it is
 * refused with its reason, never allowed.
 */
import { parseConfig } from '../../src/config.js';
import { encodeCheckRequest } from '../../src/wire/protos.js';
import { checkRequest, decodeCheckResponse, frontend, GatehouseClient, headerValue, statusCode, type CheckResponse } from '../support/check-client.js';
import { cleanup, startGatehouse, type ServerProcess } from '../support/server-process.js';

const allowed = { principal: frontend, path: '/api/orders/1', requestId: 'r-1' };
const grpcResourceExhausted = 8;

afterAll(cleanup);

describe('safe defaults', () => {
  test('every limit has a bounded default, and the key wait ends before the decision deadline', () => {
    const { limits } = parseConfig({});
    expect(limits).toEqual({
      maxMessageBytes: 4 * 1024 * 1024,
      maxHeaders: 200,
      maxHeaderBytes: 64 * 1024,
      maxTokenBytes: 16 * 1024,
      maxConcurrentChecks: 1024,
      decisionTimeoutMs: 180,
      keyFetchTimeoutMs: 100,
    });
    // A slow key endpoint then ends in a deny with its reason (keys_unavailable), not a timeout.
    expect(limits.keyFetchTimeoutMs).toBeLessThan(limits.decisionTimeoutMs);
  });

  test.each([
    ['maxMessageBytes', 1023],
    ['maxHeaders', 0],
    ['maxHeaderBytes', -1],
    ['maxTokenBytes', 0],
    ['maxConcurrentChecks', 0],
    ['decisionTimeoutMs', 0],
    ['keyFetchTimeoutMs', 1.5],
  ])('limits.%s: %p is refused at start, naming the key', (key, value) => {
    expect(() => parseConfig({ limits: { [key]: value } })).toThrow(new RegExp(`limits\\.${key}`));
  });
});

/** Sums what decode.ts counts: names and values of every header, in UTF-8 bytes. */
function headerBytes(headers: Record<string, string>): number {
  return Object.entries(headers).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value), 0);
}

function headersOf(request: Record<string, unknown>): Record<string, string> {
  return (request as { attributes: { request: { http: { headers: Record<string, string> } } } }).attributes.request.http.headers;
}

async function expectDecidedNormally(server: ServerProcess, response: CheckResponse): Promise<void> {
  expect(statusCode(response)).toBe(0);
  expect(headerValue(response, 'x-gatehouse-principal')).toBe(frontend);
  expect(await server.decision(headerValue(response, 'x-gatehouse-decision-id')!)).toMatchObject({ decision: 'allow' });
}

async function expectBadRequest(server: ServerProcess, response: CheckResponse, detail: RegExp): Promise<void> {
  expect(statusCode(response)).toBe(7);
  expect(response.ok_response).toBeUndefined();
  expect(await server.decision(headerValue(response, 'x-gatehouse-decision-id')!)).toMatchObject({ decision: 'deny', reason: 'bad_request', detail: expect.stringMatching(detail) });
}

describe('gRPC message size (maxMessageBytes: 32768)', () => {
  const limit = 32768;
  let server: ServerProcess;
  let client: GatehouseClient;

  beforeAll(async () => {
    server = await startGatehouse({ configYaml: `limits:\n  maxMessageBytes: ${limit}\n` });
    client = new GatehouseClient(server.grpcTarget);
  });
  afterAll(() => client.close());

  /** An allowed request padded by one header to exactly `size` encoded bytes. */
  function messageOf(size: number): Uint8Array {
    for (let pad = size - 400; pad < size; pad++) {
      const bytes = encodeCheckRequest(checkRequest({ ...allowed, headers: { 'x-pad': 'a'.repeat(pad) } }));
      if (bytes.length === size) return bytes;
      if (bytes.length > size) break;
    }
    throw new Error(`no padding gives exactly ${size} bytes`);
  }

  test('exactly maxMessageBytes: decided normally', async () => {
    const outcome = await client.raw(messageOf(limit));
    if (!outcome.ok) throw outcome.error;
    await expectDecidedNormally(server, decodeCheckResponse(outcome.value));
  });

  test('one byte over: RESOURCE_EXHAUSTED, and no decision is made', async () => {
    const lines = server.decisions.length;
    const outcome = await client.raw(messageOf(limit + 1));
    expect(outcome.ok ? 'answered' : outcome.error.code).toBe(grpcResourceExhausted);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.decisions.length).toBe(lines);
  });
});

describe('headers (maxHeaders: 10, maxHeaderBytes: 1024)', () => {
  let server: ServerProcess;
  let client: GatehouseClient;

  beforeAll(async () => {
    server = await startGatehouse({ configYaml: 'limits:\n  maxHeaders: 10\n  maxHeaderBytes: 1024\n' });
    client = new GatehouseClient(server.grpcTarget);
  });
  afterAll(() => client.close());

  /** The allowed request with extra `x-h-N` headers up to `count` headers in all. */
  function withHeaderCount(count: number, asHeaderMap: boolean): Record<string, unknown> {
    const request = checkRequest(allowed);
    const headers = headersOf(request);
    for (let i = 0; Object.keys(headers).length < count; i++) headers[`x-h-${i}`] = 'v';
    if (!asHeaderMap) return request;
    const http = (request as { attributes: { request: { http: Record<string, unknown> } } }).attributes.request.http;
    http.header_map = { headers: Object.entries(headers).map(([key, value]) => ({ key, raw_value: Buffer.from(value) })) };
    delete http.headers;
    return request;
  }

  test.each([false, true])('exactly maxHeaders (header_map: %p): decided normally; one more: denied, bad_request', async (asHeaderMap) => {
    await expectDecidedNormally(server, await client.check(withHeaderCount(10, asHeaderMap)));
    await expectBadRequest(server, await client.check(withHeaderCount(11, asHeaderMap)), /more than 10 headers/);
  });

  /** The allowed request with `x-pad` filled with `unit` so that all headers take exactly `bytes` UTF-8 bytes. */
  function withHeaderBytes(bytes: number, unit: string): Record<string, unknown> {
    const request = checkRequest(allowed);
    const headers = headersOf(request);
    headers['x-pad'] = '';
    const room = bytes - headerBytes(headers);
    const unitBytes = Buffer.byteLength(unit);
    headers['x-pad'] = unit.repeat(Math.floor(room / unitBytes)) + 'a'.repeat(room % unitBytes);
    expect(headerBytes(headers)).toBe(bytes);
    return request;
  }

  // 'é' is two UTF-8 bytes and one UTF-16 unit, '€' three and one, '😀' four and two.
  test.each(['a', 'é', '€', '😀'])('exactly maxHeaderBytes of %p: decided normally; one byte more: denied, bad_request (bug: the limit counted UTF-16 units, letting multi-byte headers through at up to 3 times the bytes)', async (unit) => {
    await expectDecidedNormally(server, await client.check(withHeaderBytes(1024, unit)));
    await expectBadRequest(server, await client.check(withHeaderBytes(1025, unit)), /headers larger than 1024 bytes/);
  });
});

describe('request body (never read)', () => {
  let server: ServerProcess;
  let client: GatehouseClient;

  beforeAll(async () => {
    server = await startGatehouse();
    client = new GatehouseClient(server.grpcTarget);
  });
  afterAll(() => client.close());

  test('a 1 MiB body (and raw_body) is ignored: the same decision as without it, and none of it in the log', async () => {
    const request = checkRequest(allowed);
    const http = (request as { attributes: { request: { http: Record<string, unknown> } } }).attributes.request.http;
    http.body = `{"secret":"${'s'.repeat(1024 * 1024)}"}`;
    http.raw_body = Buffer.alloc(1024 * 1024, 0x42);
    http.size = String(1024 * 1024);
    const response = await client.check(request, 10_000);
    await expectDecidedNormally(server, response);
    const line = await server.decision(headerValue(response, 'x-gatehouse-decision-id')!);
    expect(JSON.stringify(line)).not.toMatch(/secret|BBBB/);
    expect(JSON.stringify(line).length).toBeLessThan(2048);
  });
});
