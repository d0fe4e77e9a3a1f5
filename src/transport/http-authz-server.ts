import http, { validateHeaderName, validateHeaderValue, type IncomingMessage, type ServerResponse } from 'node:http';
import http2, { type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import net, { type Socket } from 'node:net';
import type { CheckRequestMessage } from '../core/decode.js';
import type { CheckResponseMessage, HeaderOption } from '../core/respond.js';
import { errorMessage } from '../errors.js';
import { opsLog } from '../log/ops-log.js';
import { whenChecked, type CheckOutcome, type RunOptions } from '../pipeline/check-pipeline.js';
import { translateAuthzRequest, type AuthzHttpOptions, type AuthzHttpRequest } from './http-authz-request.js';

export interface HttpAuthzServerOptions extends AuthzHttpOptions {
  /** Room for the header limits (`limits.maxHeaderBytes`) to be judged by the pipeline, not by node's parser. */
  readonly maxHeaderBytes: number;
  /** `response.decisionHeader`: a 503 the listener answers itself names the Check's decision id in it, when there was one. */
  readonly decisionHeader: string;
}

/** Envoy's `http_service` removes the headers this response header names from the original request. */
const envoyHeadersToRemove = 'x-envoy-auth-headers-to-remove';
/** An HTTP/2 connection starts with `PRI * HTTP/2.0`; no HTTP/1 request starts with `PRI`. */
const h2Preface = Buffer.from('PRI', 'latin1');
/** A connection that has not said which protocol it speaks within this long is closed. */
const firstBytesTimeoutMs = 10_000;

type Answered = Pick<CheckOutcome, 'response' | 'decisionId'>;

/** What the listener needs of the Check pipeline (`CheckPipeline` is one): one Check, and the response it answers with. */
export interface AuthzChecks {
  run(message: CheckRequestMessage, options: RunOptions): Answered | Promise<Answered>;
}

export interface HttpAuthzServer {
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting, lets answers in flight go out, and cuts what is left after `graceMs`. */
  close(graceMs: number): Promise<void>;
}

/**
 * HTTP authorization: Envoy `http_service` and forward auth, over HTTP/1.1 and h2c on one port.
 * An adapter in front of the Check pipeline: translate, `pipeline.run`, answer; nothing else.
 */
export function createHttpAuthzServer(pipeline: AuthzChecks, options: HttpAuthzServerOptions): HttpAuthzServer {
  /** One authorization request of either protocol, answered through `reply`. */
  const handle = (request: AuthzHttpRequest, reply: Reply): void => {
    const translated = translateAuthzRequest(request, options);
    if (translated.kind === 'not-found') {
      reply(404, { 'content-type': 'text/plain' }, 'not found');
      return;
    }
    whenChecked(
      () => pipeline.run(translated.message, { wire: translated.wire, problems: translated.problems }),
      (outcome) => respond(reply, outcome, translated.wire === 'envoy-http', options.decisionHeader),
      (err: unknown) => unavailable(reply, err),
    );
  };

  const onHttp1 = (req: IncomingMessage, res: ServerResponse): void => {
    // An HTTP/1.1 server discards an unread body itself once the answer is sent.
    handle(
      {
        method: req.method ?? '',
        target: req.url ?? '',
        authority: authorityOf(req.rawHeaders),
        rawHeaders: req.rawHeaders,
        peer: { address: req.socket.remoteAddress ?? '', port: req.socket.remotePort ?? 0 },
        httpVersion: req.httpVersion,
      },
      (status, headers, body) => answerHttp1(res, status, headers, body),
    );
  };

  /**
   * h2c from node:http2's own stream events, not its compatibility layer (which builds a request
   * and a response object per stream and costs about a third more per request). `rawHeaders`
   * holds the pseudo-headers first, as the compatibility layer's did. The body is not read: once
   * answered, node ends the stream (RST_STREAM NO_ERROR) instead of waiting for the rest of it.
   */
  const onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]): void => {
    // A stream the proxy resets (or that fails) must never be an unhandled 'error' of the process.
    stream.on('error', () => stream.destroy());
    const expectation = headers.expect;
    if (expectation !== undefined && expectation.toLowerCase() !== '100-continue') {
      // As node:http answers an expectation it cannot meet: 417, no Check.
      answerHttp2(stream, 417, {}, '');
      return;
    }
    const socket = stream.session?.socket;
    handle(
      {
        method: headers[':method'] ?? '',
        target: headers[':path'] ?? '',
        authority: authorityOf(rawHeaders),
        rawHeaders,
        peer: { address: socket?.remoteAddress ?? '', port: socket?.remotePort ?? 0 },
        httpVersion: '2.0',
      },
      (status, answerHeaders, body) => answerHttp2(stream, status, answerHeaders, body),
    );
  };

  const h1 = http.createServer({ maxHeaderSize: options.maxHeaderBytes + 16 * 1024 }, onHttp1);
  const h2 = http2.createServer({ settings: { maxHeaderListSize: options.maxHeaderBytes + 16 * 1024 } });
  h2.on('stream', onStream);
  const sockets = new Set<Socket>();
  const sessions = new Set<Http2Session>();
  h2.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  // node:http sets TCP_NODELAY on the connections it accepts; these are accepted here. Without
  // it, an answer can wait for the proxy's delayed ACK of the one before.
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.setTimeout(firstBytesTimeoutMs, () => socket.destroy());
    const onReadable = (): void => {
      const first = socket.read(h2Preface.length) as Buffer | null;
      if (first === null) return;
      socket.off('readable', onReadable);
      socket.setTimeout(0);
      socket.unshift(first);
      (first.equals(h2Preface) ? h2 : h1).emit('connection', socket);
    };
    socket.on('readable', onReadable);
    socket.on('error', () => socket.destroy());
  });

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address();
          resolve(typeof address === 'object' && address ? address.port : port);
        });
      });
    },
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      h1.closeIdleConnections();
      for (const session of sessions) session.close();
      const force = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      // Keep-alive connections that go idle after their answer are closed as they do.
      const idle = setInterval(() => h1.closeIdleConnections(), 100);
      await closed;
      clearTimeout(force);
      clearInterval(idle);
    },
  };
}

/**
 * HTTP/2's `:authority`, else `Host`. Read from the raw headers: node:http builds `req.headers`
 * only when it is first read, and the adapter needs nothing else from it.
 */
function authorityOf(raw: readonly string[]): string {
  let host: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name === ':authority') return raw[i + 1]!;
    if (host === undefined && name.length === 4 && name.toLowerCase() === 'host') host = raw[i + 1];
  }
  return host ?? '';
}

/** Sends one answer; the protocol's own writer behind it. */
type Reply = (status: number, headers: Record<string, string>, body: string) => void;

/**
 * CheckResponse → the HTTP answer the contract gives each proxy: allow 200 with the upstream
 * headers for the proxy to copy; a deny its status, headers and body; cannot decide 503.
 */
function respond(reply: Reply, { response, decisionId }: Pick<CheckOutcome, 'response' | 'decisionId'>, envoy: boolean, decisionHeader: string): void {
  try {
    answerFor(reply, response, envoy);
  } catch (err) {
    // node refuses a header value it cannot send (a control character): never a crash, never an
    // allow. The decision log has the Check as decided; this line and the id say what was answered.
    unavailable(reply, err, { name: decisionHeader, id: decisionId });
  }
}

function unavailable(reply: Reply, err: unknown, decision?: { name: string; id: string }): void {
  opsLog.error('http authorization failed', { error: errorMessage(err), ...(decision && { decisionId: decision.id }) });
  try {
    reply(503, { 'content-type': 'text/plain', ...(decision && { [decision.name]: decision.id }) }, 'authorization unavailable');
  } catch (again) {
    opsLog.error('http authorization answer failed', { error: errorMessage(again) });
  }
}

function answerFor(reply: Reply, response: CheckResponseMessage, envoy: boolean): void {
  if (response.ok_response) {
    const headers = headerRecord(response.ok_response.headers);
    const remove = response.ok_response.headers_to_remove;
    // Envoy drops these from the original request; forward-auth proxies replace only what they copy.
    if (envoy && remove.length > 0) headers[envoyHeadersToRemove] = remove.join(',');
    reply(200, headers, '');
    return;
  }
  const refusal = response.denied_response ?? response.error_response;
  if (!refusal) {
    reply(503, { 'content-type': 'text/plain' }, 'authorization unavailable');
    return;
  }
  reply(refusal.status.code, headerRecord(refusal.headers), refusal.body);
}

function headerRecord(options: readonly HeaderOption[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { header } of options) out[header.key] = header.value;
  return out;
}

/** One head, written once: no per-header calls, no header object merged into another. */
function answerHttp1(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  if (res.headersSent || res.destroyed) return;
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(checkedStatus(status), headers);
  res.end(body);
}

/**
 * The same answer on an h2c stream, unless the proxy gave up on it meanwhile. An answer that
 * cannot be sent throws before anything goes out (the caller answers 503 instead); a stream that
 * goes away while answering is destroyed. An empty answer (an allow) ends the stream with its
 * headers: one HEADERS frame, no DATA.
 */
function answerHttp2(stream: ServerHttp2Stream, status: number, headers: Record<string, string>, body: string): void {
  if (stream.headersSent || stream.destroyed || stream.closed) return;
  // node:http refuses a header it cannot send; node:http2's streams would send or mangle it.
  for (const [name, value] of Object.entries(headers)) {
    validateHeaderName(name);
    validateHeaderValue(name, value);
  }
  headers[':status'] = String(checkedStatus(status));
  headers['content-length'] = String(Buffer.byteLength(body));
  try {
    if (body === '') {
      stream.respond(headers, { endStream: true });
      return;
    }
    stream.respond(headers);
    stream.end(body);
  } catch {
    stream.destroy();
  }
}

/** node:http2 would send a status it cannot use as 200: only a final status goes out. */
function checkedStatus(status: number): number {
  if (!Number.isInteger(status) || status < 200 || status > 599) throw new RangeError(`not a final HTTP status: ${status}`);
  return status;
}
