import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { JwtIssuerConfig } from '../config.js';
import { isRecord } from '../core/is-record.js';
import { quote } from './printable.js';

/** Where a key set document comes from. */
export interface JwksOrigin {
  /** Reads the current JWKS document (parsed JSON, not yet validated). */
  fetch(signal: AbortSignal): Promise<unknown>;
  /** Calls `onChange` when the origin changes by itself (a rewritten file); returns a stop function. */
  watch?(onChange: () => void): () => void;
}

const defaults = { maxDocumentBytes: 1024 * 1024, fileCheckIntervalMs: 2_000 };

export interface OriginOptions {
  /** Largest JWKS or discovery document accepted. */
  readonly maxDocumentBytes?: number;
  /** How often a `jwksFile` is checked for changes. */
  readonly fileCheckIntervalMs?: number;
}

/** Where an issuer's configuration says its keys are: `jwksFile`, `jwksUri` or OIDC discovery. */
export function originFor(issuer: JwtIssuerConfig, options: OriginOptions = {}): JwksOrigin {
  const maxBytes = options.maxDocumentBytes ?? defaults.maxDocumentBytes;
  if (issuer.jwksFile !== undefined) return fileOrigin(issuer.jwksFile, maxBytes, options.fileCheckIntervalMs ?? defaults.fileCheckIntervalMs);
  if (issuer.jwksUri !== undefined) return uriOrigin(issuer.jwksUri, maxBytes);
  return discoveryOrigin(issuer.issuer, maxBytes);
}

export function fileOrigin(path: string, maxBytes: number, checkIntervalMs: number): JwksOrigin {
  return {
    async fetch(signal) {
      const info = await stat(path);
      // Reading a FIFO would block a libuv thread, every later refresh and the exit until someone writes to it.
      if (!info.isFile()) throw new Error('jwksFile is not a regular file');
      if (info.size > maxBytes) throw new Error(`jwksFile is larger than ${maxBytes} bytes`);
      return parseJson(await readFile(path, { encoding: 'utf8', signal }), 'jwksFile');
    },
    watch(onChange) {
      const listener = (now: Stats, before: Stats): void => {
        if (now.mtimeMs !== before.mtimeMs || now.size !== before.size || now.ino !== before.ino) onChange();
      };
      watchFile(path, { persistent: false, interval: checkIntervalMs }, listener);
      return () => unwatchFile(path, listener);
    },
  };
}

export function uriOrigin(uri: string, maxBytes: number): JwksOrigin {
  return { fetch: (signal) => getJson(uri, 'jwks_uri', maxBytes, signal) };
}

/** OIDC discovery: `{issuer}/.well-known/openid-configuration` names the `jwks_uri`. */
export function discoveryOrigin(issuer: string, maxBytes: number): JwksOrigin {
  const documentUri = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  return {
    async fetch(signal) {
      const doc = await getJson(documentUri, 'discovery document', maxBytes, signal);
      if (!isRecord(doc)) throw new Error('discovery document is not a JSON object');
      if (doc['issuer'] !== issuer) throw new Error(`discovery document names issuer ${quote(doc['issuer'])}, not the configured one`);
      const jwksUri = doc['jwks_uri'];
      if (typeof jwksUri !== 'string' || !/^https?:\/\//i.test(jwksUri)) {
        throw new Error('discovery document has no http(s) jwks_uri');
      }
      return getJson(jwksUri, 'jwks_uri', maxBytes, signal);
    },
  };
}

async function getJson(uri: string, what: string, maxBytes: number, signal: AbortSignal): Promise<unknown> {
  const res = await fetch(uri, { signal, headers: { accept: 'application/json' } });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`${what} answered HTTP ${res.status}`);
  }
  return parseJson(await readCapped(res, maxBytes, what), what);
}

async function readCapped(res: Response, maxBytes: number, what: string): Promise<string> {
  const tooLarge = `${what} is larger than ${maxBytes} bytes`;
  if (Number(res.headers.get('content-length') ?? 0) > maxBytes) {
    await res.body?.cancel();
    throw new Error(tooLarge);
  }
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new Error(tooLarge);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what} is not valid JSON`);
  }
}
