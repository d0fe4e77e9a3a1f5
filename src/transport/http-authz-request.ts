import { isIP } from 'node:net';
import type { CheckRequestMessage } from '../core/decode.js';
import { unmappedAddress as unmapped } from '../net/cidr.js';
import type { Wire } from '../pipeline/check-pipeline.js';

/** An authorization request as the HTTP listener received it from a proxy. */
export interface AuthzHttpRequest {
  readonly method: string;
  /** The request target as sent (`/envoy/api/orders?x=1`, `/forward-auth`). */
  readonly target: string;
  /** `Host`, or HTTP/2's `:authority`. */
  readonly authority: string;
  /** Name and value pairs in the order received, one per occurrence (node's `rawHeaders`). */
  readonly rawHeaders: readonly string[];
  /** The connecting peer: the proxy. */
  readonly peer: { readonly address: string; readonly port: number };
  readonly httpVersion: string;
}

export interface AuthzHttpOptions {
  readonly envoyPathPrefix: string;
  readonly forwardAuthPath: string;
  /** Whether a peer's X-Forwarded-For / X-Real-IP are believed (`httpAuthz.trustedProxies`). */
  readonly trustedProxy: (address: string) => boolean;
}

/** The Check an authorization request asks for, or that it is for neither endpoint. */
export type AuthzTranslation =
  | {
      readonly kind: 'check';
      readonly wire: Extract<Wire, 'envoy-http' | 'forward-auth'>;
      readonly message: CheckRequestMessage;
      /** Why the original request cannot be known; the pipeline refuses it (`bad_request`). */
      readonly problems: readonly string[];
    }
  | { readonly kind: 'not-found' };

/**
 * Headers of the hop from the proxy to gatehouse, not of the original request. `host` is the
 * original's in Envoy mode (it becomes the host) and gatehouse's own in forward auth.
 */
const hopHeaders = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'upgrade', 'http2-settings', 'content-length']);

/** The forward-auth headers that describe the original request; consumed, not passed on as its headers. */
const forwardedFields = {
  method: 'x-forwarded-method',
  proto: 'x-forwarded-proto',
  host: 'x-forwarded-host',
  uri: 'x-forwarded-uri',
  originalMethod: 'x-original-method',
  originalUrl: 'x-original-url',
} as const;
const notPassedByEnvoy: ReadonlySet<string> = hopHeaders;
const notPassedByForwardAuth: ReadonlySet<string> = new Set([...hopHeaders, ...Object.values(forwardedFields)]);
/** The headers the adapter itself reads; every other header is only passed on. */
const readByAdapter: ReadonlySet<string> = new Set([...Object.values(forwardedFields), 'x-forwarded-for', 'x-real-ip']);

const methodToken = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const absoluteUrl = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^#]*)$/;

/**
 * An HTTP authorization request → the CheckRequest Envoy would have sent for the original
 * request. Pure. What cannot be read is never guessed: it becomes a problem, so the answer is a
 * deny with `bad_request`, never an allow.
 */
export function translateAuthzRequest(request: AuthzHttpRequest, options: AuthzHttpOptions): AuthzTranslation {
  const query = request.target.indexOf('?');
  const pathOnly = query < 0 ? request.target : request.target.slice(0, query);
  if (pathOnly === options.forwardAuthPath) return forwardAuth(request, readHeaders(request.rawHeaders, notPassedByForwardAuth), options);
  const prefix = options.envoyPathPrefix;
  if (request.target === prefix || request.target.startsWith(`${prefix}/`) || request.target.startsWith(`${prefix}?`)) {
    return envoyHttp(request, readHeaders(request.rawHeaders, notPassedByEnvoy), options);
  }
  return { kind: 'not-found' };
}

/** Envoy `http_service`: the authorization request is the original, its path under the prefix. */
function envoyHttp(request: AuthzHttpRequest, headers: Headers, options: AuthzHttpOptions): AuthzTranslation {
  const rest = request.target.slice(options.envoyPathPrefix.length);
  const path = rest.startsWith('/') ? rest : `/${rest}`;
  const problems: string[] = [];
  const source = sourceAddress(request, headers, options, problems);
  const message = checkMessage({ method: request.method, path, host: request.authority, scheme: 'http', protocol: protocolOf(request), headers: headers.passed, source });
  return { kind: 'check', wire: 'envoy-http', message, problems };
}

interface Original {
  readonly method: string;
  readonly scheme: string;
  readonly host: string;
  readonly path: string;
}

/** Forward auth: the original request is described by X-Forwarded-* or X-Original-* headers. */
function forwardAuth(request: AuthzHttpRequest, headers: Headers, options: AuthzHttpOptions): AuthzTranslation {
  const problems: string[] = [];
  const one = (name: string): string | undefined => single(headers, name, problems);
  const forwarded = {
    method: one(forwardedFields.method),
    proto: one(forwardedFields.proto),
    host: one(forwardedFields.host),
    uri: one(forwardedFields.uri),
  };
  const originalMethod = one(forwardedFields.originalMethod);
  const originalUrl = one(forwardedFields.originalUrl);
  const original = problems.length > 0 ? undefined : originalRequest(forwarded, originalMethod, originalUrl, problems);
  const source = sourceAddress(request, headers, options, problems);
  const message = checkMessage({
    method: original?.method ?? '',
    path: original?.path ?? '',
    host: original?.host ?? '',
    scheme: original?.scheme ?? '',
    protocol: protocolOf(request),
    headers: headers.passed,
    source,
  });
  return { kind: 'check', wire: 'forward-auth', message, problems };
}

/**
 * One description of the original request. Both spellings may arrive together (a proxy that
 * sets one passes a client-sent copy of the other through): then every field both give must
 * agree, or backends and policies could be judging different requests.
 */
function originalRequest(
  forwarded: { method?: string; proto?: string; host?: string; uri?: string },
  originalMethod: string | undefined,
  originalUrl: string | undefined,
  problems: string[],
): Original | undefined {
  const fromForwarded = forwarded.uri !== undefined || forwarded.method !== undefined ? forwardedRequest(forwarded, problems) : undefined;
  const fromOriginal = originalUrl !== undefined || originalMethod !== undefined ? originalUrlRequest(originalMethod, originalUrl, problems) : undefined;
  if (problems.length > 0) return undefined;
  if (fromForwarded && fromOriginal) {
    const differ = (['method', 'scheme', 'host', 'path'] as const).filter((field) => fromForwarded[field] !== fromOriginal[field]);
    if (differ.length > 0) {
      problems.push(`X-Forwarded-* and X-Original-* describe different requests (${differ.join(', ')})`);
      return undefined;
    }
  }
  const original = fromOriginal ?? fromForwarded;
  if (!original) problems.push('no original request: send X-Forwarded-Method and X-Forwarded-Uri, or X-Original-Method and X-Original-URL');
  return original;
}

function forwardedRequest(forwarded: { method?: string; proto?: string; host?: string; uri?: string }, problems: string[]): Original | undefined {
  const before = problems.length;
  const method = checkedMethod(forwarded.method, forwardedFields.method, problems);
  if (forwarded.uri === undefined) problems.push('X-Forwarded-Uri is missing');
  else if (!forwarded.uri.startsWith('/')) problems.push('X-Forwarded-Uri must be a path starting with /');
  if (forwarded.host === undefined || forwarded.host === '') problems.push('X-Forwarded-Host is missing');
  const scheme = (forwarded.proto ?? '').toLowerCase();
  if (scheme !== '' && scheme !== 'http' && scheme !== 'https') problems.push('X-Forwarded-Proto must be http or https');
  if (problems.length > before) return undefined;
  return { method: method!, scheme, host: forwarded.host!, path: forwarded.uri! };
}

function originalUrlRequest(originalMethod: string | undefined, originalUrl: string | undefined, problems: string[]): Original | undefined {
  const before = problems.length;
  const method = checkedMethod(originalMethod, forwardedFields.originalMethod, problems);
  const url = originalUrl === undefined ? undefined : absoluteUrl.exec(originalUrl);
  if (originalUrl === undefined) problems.push('X-Original-URL is missing');
  else if (!url) problems.push('X-Original-URL must be an absolute URL without a fragment');
  const scheme = url?.[1]?.toLowerCase() ?? '';
  const host = url?.[2] ?? '';
  const rest = url?.[3] ?? '';
  if (url) {
    if (scheme !== 'http' && scheme !== 'https') problems.push('X-Original-URL must be an http or https URL');
    // A user part would make the host a matter of which parser reads it.
    if (host === '' || host.includes('@')) problems.push('X-Original-URL must name a host and no user');
  }
  if (problems.length > before) return undefined;
  // The path exactly as the client sent it: the parse step, not a URL parser, normalizes it.
  return { method: method!, scheme, host, path: rest === '' ? '/' : rest.startsWith('?') ? `/${rest}` : rest };
}

function checkedMethod(method: string | undefined, header: string, problems: string[]): string | undefined {
  if (method === undefined || method === '') problems.push(`${headerName(header)} is missing`);
  else if (!methodToken.test(method)) problems.push(`${headerName(header)} is not an HTTP method`);
  else return method.toUpperCase();
  return undefined;
}

/** `x-original-url` → `X-Original-URL`, as operators see it in proxy configs. */
function headerName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase()).replace(/-Url$/, '-URL');
}

/**
 * The client's address: the peer, unless the peer is a trusted proxy; then the nearest address
 * in X-Forwarded-For that is not itself a trusted proxy (or X-Real-IP without one). A trusted
 * proxy's header that does not parse refuses the request: falling back to the proxy's own
 * address would hand the client whatever policies grant the proxy.
 */
function sourceAddress(request: AuthzHttpRequest, headers: Headers, options: AuthzHttpOptions, problems: string[]): Peer {
  const peer = { address: unmapped(request.peer.address), port: request.peer.port };
  if (!options.trustedProxy(peer.address)) return peer;
  const forwardedFor = (headers.read.get('x-forwarded-for') ?? []).flatMap((value) => value.split(','));
  if (forwardedFor.length > 0) {
    const hops = forwardedFor.map((hop) => unmapped(hop.trim()));
    const bad = hops.find((hop) => isIP(hop) === 0);
    if (bad !== undefined) {
      problems.push(`X-Forwarded-For from a trusted proxy holds ${JSON.stringify(bad.slice(0, 64))}, not an IP address`);
      return peer;
    }
    const client = [...hops].reverse().find((hop) => !options.trustedProxy(hop)) ?? hops[0]!;
    return { address: client, port: 0 };
  }
  const realIp = single(headers, 'x-real-ip', problems);
  if (realIp === undefined) return peer;
  if (isIP(unmapped(realIp.trim())) === 0) {
    problems.push(`X-Real-IP from a trusted proxy is ${JSON.stringify(realIp.slice(0, 64))}, not an IP address`);
    return peer;
  }
  return { address: unmapped(realIp.trim()), port: 0 };
}

interface Peer {
  readonly address: string;
  readonly port: number;
}

/** The authorization request's headers, read in one pass. */
interface Headers {
  /** The original request's: one entry per occurrence, in order, lower-case names; not the hop's own, pseudo-headers or what the adapter consumed. */
  readonly passed: { key: string; value: string }[];
  /** Every value of each header the adapter reads (`readByAdapter`), in order. */
  readonly read: ReadonlyMap<string, readonly string[]>;
}

function readHeaders(raw: readonly string[], notPassed: ReadonlySet<string>): Headers {
  const passed: { key: string; value: string }[] = [];
  const read = new Map<string, string[]>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (readByAdapter.has(name)) {
      const values = read.get(name);
      if (values === undefined) read.set(name, [value]);
      else values.push(value);
    }
    if (!notPassed.has(name) && !name.startsWith(':')) passed.push({ key: name, value });
  }
  return { passed, read };
}

/** The header's one value; repeats that differ are a problem (which one would the proxy have meant?). */
function single(headers: Headers, name: string, problems: string[]): string | undefined {
  const values = headers.read.get(name);
  if (values === undefined) return undefined;
  const first = values[0]!;
  if (values.every((value) => value === first)) return first;
  problems.push(`${headerName(name)} was sent more than once with different values`);
  return undefined;
}

function protocolOf(request: AuthzHttpRequest): string {
  return request.httpVersion.startsWith('2') ? 'HTTP/2' : `HTTP/${request.httpVersion}`;
}

function checkMessage(parts: {
  method: string;
  path: string;
  host: string;
  scheme: string;
  protocol: string;
  headers: { key: string; value: string }[];
  source: Peer;
}): CheckRequestMessage {
  return {
    attributes: {
      source: { address: { socket_address: { address: parts.source.address, port_value: parts.source.port } } },
      request: {
        http: {
          method: parts.method,
          path: parts.path,
          host: parts.host,
          scheme: parts.scheme,
          protocol: parts.protocol,
          // One entry per occurrence, as Envoy's `header_map`: repeats are seen, not pre-joined.
          header_map: { headers: parts.headers },
        },
      },
    },
  };
}
