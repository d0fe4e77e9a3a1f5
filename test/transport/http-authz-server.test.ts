/**
 * The HTTP authorization listener as an adapter, over HTTP/1.1 and h2c on one port: what it hands
 * the Check pipeline and how it answers each kind of CheckResponse. The pipeline here answers
 * fixed responses (the real pipeline behind this listener is test/e2e/http-authz.test.ts's).
 */
import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CheckRequestMessage } from '../../src/core/decode.js';
import type { CheckResponseMessage } from '../../src/core/respond.js';
import type { RunOptions } from '../../src/pipeline/check-pipeline.js';
import { createHttpAuthzServer, type AuthzChecks, type HttpAuthzServer } from '../../src/transport/http-authz-server.js';
import { h1Call, h2cCall, type AuthzAnswer, type AuthzCall } from '../support/http-authz-client.js';
import { projectRoot } from '../support/server-process.js';

const header = (key: string, value: string) => ({ header: { key, value }, append_action: 2 as const });
const allow: CheckResponseMessage = {
  status: { code: 0, message: '' },
  ok_response: { headers: [header('x-gatehouse-principal', 'spiffe://cluster.local/ns/shop/sa/frontend')], headers_to_remove: ['x-gatehouse-actor'], response_headers_to_add: [] },
};
const deny: CheckResponseMessage = {
  status: { code: 7, message: 'permission denied' },
  denied_response: { status: { code: 403 }, headers: [header('content-type', 'application/json')], body: '{"decision":"deny"}' },
};
/** A header value no HTTP version can carry. */
const unsendable: CheckResponseMessage = {
  status: { code: 0, message: '' },
  ok_response: { headers: [header('x-gatehouse-principal', 'a\r\nset-cookie: x=1')], headers_to_remove: [], response_headers_to_add: [] },
};

let answerWith: CheckResponseMessage | Error = allow;
/** How long a Check takes to answer. */
let delayMs = 0;
const seen: { message: CheckRequestMessage; options: RunOptions }[] = [];
const checks: AuthzChecks = {
  async run(message, options) {
    seen.push({ message, options });
    const decisionId = `D${seen.length}`;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (answerWith instanceof Error) throw answerWith;
    return { response: answerWith, decisionId };
  },
};

let server: HttpAuthzServer;
let port: number;
beforeAll(async () => {
  server = createHttpAuthzServer(checks, { envoyPathPrefix: '/envoy', forwardAuthPath: '/forward-auth', trustedProxy: () => false, maxHeaderBytes: 65536, decisionHeader: 'x-decision' });
  port = await server.listen(0, '127.0.0.1');
});
afterAll(() => server.close(1000));
beforeEach(() => {
  answerWith = allow;
  delayMs = 0;
  seen.length = 0;
});

const protocols: [string, (call: AuthzCall) => Promise<AuthzAnswer>][] = [
  ['HTTP/1.1', (call) => h1Call(port, call)],
  ['h2c', (call) => h2cCall(port, call)],
];
const envoyCall: AuthzCall = { method: 'POST', path: '/envoy/api/orders/7?x=1', headers: { host: 'orders.shop.svc:8080', 'x-request-id': 'r-1', 'x-custom': 'v' } };

describe.each(protocols)('%s', (_name, call) => {
  test('an allow is a 200 with the headers for the proxy and no body', async () => {
    const answer = await call(envoyCall);
    expect(answer).toMatchObject({ status: 200, body: '' });
    expect(answer.headers['x-gatehouse-principal']).toBe('spiffe://cluster.local/ns/shop/sa/frontend');
    expect(answer.headers['x-envoy-auth-headers-to-remove']).toBe('x-gatehouse-actor');
    expect(answer.headers['content-length']).toBe('0');
  });

  test('a deny is its status, headers and body', async () => {
    answerWith = deny;
    const answer = await call(envoyCall);
    expect(answer).toMatchObject({ status: 403, body: '{"decision":"deny"}' });
    expect(answer.headers['content-type']).toBe('application/json');
  });

  test.each([
    ['a header value the protocol cannot carry', unsendable],
    ['a pipeline that fails', new Error('boom')],
  ])('%s is a 503, never an allow, and the listener keeps answering', async (_what, response) => {
    answerWith = response;
    const answer = await call(envoyCall);
    expect(answer).toMatchObject({ status: 503, body: 'authorization unavailable' });
    // The Check's decision id when there was a decision, so the 503 can be found in the logs.
    expect(answer.headers['x-decision']).toBe(response instanceof Error ? undefined : `D${seen.length}`);
    expect(answer.headers['x-gatehouse-principal']).toBeUndefined();
    expect(answer.headers['set-cookie']).toBeUndefined();
    answerWith = allow;
    expect((await call(envoyCall)).status).toBe(200);
  });

  test('an expectation the listener cannot meet is 417 and asks for no Check, as node:http answers it', async () => {
    const answer = await call({ ...envoyCall, headers: { ...envoyCall.headers, expect: 'bogus' } });
    expect(answer.status).toBe(417);
    expect(seen).toHaveLength(0);
  });

  test('a path outside both endpoints is 404 and asks for no Check', async () => {
    const answer = await call({ path: '/elsewhere', headers: { host: 'orders.shop.svc:8080' } });
    expect(answer.status).toBe(404);
    expect(seen).toHaveLength(0);
  });
});

test('h2c and HTTP/1.1 hand the pipeline the same Check', async () => {
  await h1Call(port, envoyCall);
  await h2cCall(port, envoyCall);
  const forward = { path: '/forward-auth', headers: { 'x-forwarded-method': 'DELETE', 'x-forwarded-host': 'orders.shop.svc', 'x-forwarded-uri': '/api/orders/9', 'x-request-id': 'r-2' } };
  await h1Call(port, forward);
  await h2cCall(port, forward);
  expect(seen).toHaveLength(4);
  const [h1Envoy, h2Envoy, h1Forward, h2Forward] = seen.map(({ message, options }) => {
    const http = message.attributes?.request?.http;
    // The protocol is the one thing that differs, by nature; the source port is the client's own.
    return { options, method: http?.method, path: http?.path, host: http?.host, scheme: http?.scheme, headers: http?.header_map?.headers, protocol: http?.protocol, source: message.attributes?.source?.address?.socket_address?.address };
  });
  expect(h1Envoy).toMatchObject({ options: { wire: 'envoy-http' }, method: 'POST', path: '/api/orders/7?x=1', host: 'orders.shop.svc:8080', protocol: 'HTTP/1.1', source: '127.0.0.1' });
  expect(h2Envoy).toEqual({ ...h1Envoy, protocol: 'HTTP/2' });
  expect(h1Forward).toMatchObject({ options: { wire: 'forward-auth' }, method: 'DELETE', path: '/api/orders/9', host: 'orders.shop.svc' });
  expect(h2Forward).toEqual({ ...h1Forward, protocol: 'HTTP/2' });
});

/** One h2c request on `session`: its status, the DATA bytes it got, and how the stream ended. */
function h2Request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<{ status: number; data: number; closedBy: number }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let status = 0;
    let data = 0;
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (chunk: Buffer) => (data += chunk.length));
    stream.on('close', () => resolve({ status, data, closedBy: stream.rstCode ?? -1 }));
    stream.on('error', reject);
    // Sent and never ended: the answer must not wait for the rest of the body.
    if (body !== undefined) stream.write(body);
  });
}

describe('h2c streams', () => {
  let session: http2.ClientHttp2Session;
  beforeEach(() => {
    session = http2.connect(`http://127.0.0.1:${port}`);
  });
  afterEach(() => session.destroy());

  test('HEAD is answered with headers alone, an allow and a deny', async () => {
    expect(await h2Request(session, { ':method': 'HEAD', ':path': '/envoy/x', ':authority': 'orders.shop.svc' })).toMatchObject({ status: 200, data: 0 });
    answerWith = deny;
    expect(await h2Request(session, { ':method': 'HEAD', ':path': '/envoy/x', ':authority': 'orders.shop.svc' })).toMatchObject({ status: 403, data: 0 });
  });

  test('a request whose body never ends is answered, and the stream closed after the answer', async () => {
    answerWith = deny;
    const answered = await h2Request(session, { ':method': 'POST', ':path': '/envoy/upload', ':authority': 'orders.shop.svc' }, Buffer.alloc(1 << 20));
    expect(answered.status).toBe(403);
    expect(answered.closedBy).toBe(http2.constants.NGHTTP2_NO_ERROR);
  });

  test(':authority, not a host header beside it, is the original host', async () => {
    await h2Request(session, { ':path': '/envoy/x', ':authority': 'orders.shop.svc', host: 'admin.shop.svc' });
    expect(seen[0]?.message.attributes?.request?.http?.host).toBe('orders.shop.svc');
  });

  test.each([
    ['INTERNAL_ERROR', http2.constants.NGHTTP2_INTERNAL_ERROR],
    ['CANCEL', http2.constants.NGHTTP2_CANCEL],
  ])('a stream the proxy resets (%s) while its Check runs costs that stream alone', async (_name, code) => {
    delayMs = 50;
    const stream = session.request({ ':path': '/envoy/x', ':authority': 'orders.shop.svc' });
    stream.on('error', () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 10));
    stream.close(code);
    // The Check answers into the reset stream; the process and the listener carry on.
    await new Promise((resolve) => setTimeout(resolve, 100));
    delayMs = 0;
    expect((await h2Request(session, { ':path': '/envoy/x', ':authority': 'orders.shop.svc' })).status).toBe(200);
    expect((await h1Call(port, envoyCall)).status).toBe(200);
  });
});

/**
 * The same resets against the built listener in a process of its own, which an error nobody
 * listens for would end (the test runner's own process does not always show it): it must still
 * answer afterwards and exit 0 when told to.
 */
test('a reset stream never ends the listener\'s process', async () => {
  const listener = join(projectRoot, 'dist', 'src', 'transport', 'http-authz-server.js');
  const script = `
    import http2 from 'node:http2';
    const { createHttpAuthzServer } = await import(${JSON.stringify(listener)});
    const allow = { status: { code: 0, message: '' }, ok_response: { headers: [], headers_to_remove: [], response_headers_to_add: [] } };
    const checks = { run: () => new Promise((resolve) => setTimeout(() => resolve({ response: allow, decisionId: 'D' }), 50)) };
    const server = createHttpAuthzServer(checks, { envoyPathPrefix: '/envoy', forwardAuthPath: '/forward-auth', trustedProxy: () => false, maxHeaderBytes: 65536, decisionHeader: 'x-d' });
    const port = await server.listen(0, '127.0.0.1');
    const session = http2.connect('http://127.0.0.1:' + port);
    session.on('error', () => undefined);
    for (const code of [http2.constants.NGHTTP2_INTERNAL_ERROR, http2.constants.NGHTTP2_CANCEL, http2.constants.NGHTTP2_PROTOCOL_ERROR]) {
      const stream = session.request({ ':path': '/envoy/x', ':authority': 'a' });
      stream.on('error', () => undefined);
      setTimeout(() => stream.close(code), 10);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const status = await new Promise((resolve, reject) => {
      const stream = session.request({ ':path': '/envoy/x', ':authority': 'a' });
      stream.on('response', (h) => resolve(h[':status']));
      stream.on('error', reject);
      stream.end();
    });
    session.destroy();
    await server.close(100);
    console.log('answered ' + status);
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000 });
  expect(stdout.trim()).toBe('answered 200');
});
