import { fail, type Result } from '../core/result.js';

/**
 * One element of `x-forwarded-client-cert`: what one proxy saw of its client's certificate.
 * Each proxy appends its element, so the last one describes the immediate client of the nearest proxy.
 * Values are as Envoy wrote them: `cert` and `chain` stay URL-encoded PEM.
 */
export interface XfccElement {
  /** URI SANs of the certificate of the proxy that added this element. */
  readonly by: readonly string[];
  /** SHA-256 of the client certificate, hex. */
  readonly hash?: string;
  readonly cert?: string;
  readonly chain?: string;
  readonly subject?: string;
  /** URI SANs of the client certificate. */
  readonly uri: readonly string[];
  /** DNS SANs of the client certificate. */
  readonly dns: readonly string[];
}

// Far above what Envoy writes for a few hops (even with Cert and Chain), far below what would hurt.
const MAX_HEADER_CHARS = 64 * 1024;
const MAX_ELEMENTS = 64;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

type SingleKey = 'hash' | 'cert' | 'chain' | 'subject';
type ListKey = 'by' | 'uri' | 'dns';
type MutableElement = { [K in SingleKey]?: string } & { [K in ListKey]: string[] };

interface Pair {
  readonly key: string;
  readonly value: string;
  /** Index of the `;` or `,` that ends the pair, or the header's length. */
  readonly end: number;
}

/**
 * Parses the header Envoy builds with `forward_client_cert_details`: elements split by `,`,
 * `key=value` pairs split by `;`, values optionally double-quoted with `\"` for a quote.
 * One malformed pair refuses the whole header: a half-read chain of certificates proves nothing.
 */
export function parseXfcc(header: string): Result<XfccElement[]> {
  if (header.length > MAX_HEADER_CHARS) {
    return fail(`x-forwarded-client-cert is longer than ${MAX_HEADER_CHARS} characters`);
  }
  if (hasControlCharacter(header)) return fail('x-forwarded-client-cert contains a control character');

  const elements: XfccElement[] = [];
  let position = 0;
  while (position <= header.length) {
    if (elements.length === MAX_ELEMENTS) return fail(`x-forwarded-client-cert has more than ${MAX_ELEMENTS} elements`);
    const element: MutableElement = { by: [], uri: [], dns: [] };
    while (true) {
      const pair = readPair(header, position);
      if (!pair.ok) return pair;
      const problem = addPair(element, pair.value);
      if (problem !== undefined) return fail(problem);
      position = pair.value.end + 1;
      if (header[pair.value.end] !== ';') break;
    }
    elements.push(element);
  }
  return { ok: true, value: elements };
}

// HTAB is allowed: it is legal header whitespace, and may follow a comma.
function hasControlCharacter(header: string): boolean {
  for (let i = 0; i < header.length; i++) {
    const code = header.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}

function readPair(header: string, start: number): Result<Pair> {
  // Whitespace before a key appears when a proxy joins repeated headers with ", ".
  let position = skipWhitespace(header, start);
  const keyStart = position;
  while (position < header.length && !'=;,'.includes(header.charAt(position))) position++;
  const key = header.slice(keyStart, position);
  if (header[position] !== '=') {
    return fail(key.trim() === '' ? 'x-forwarded-client-cert has an empty element or pair' : 'x-forwarded-client-cert has a pair without "="');
  }
  if (key === '') return fail('x-forwarded-client-cert has a pair with an empty key');
  if (!TOKEN.test(key)) return fail('x-forwarded-client-cert has a key that is not a token');

  const valueStart = position + 1;
  if (header[valueStart] === '"') return readQuotedValue(header, key, valueStart + 1);
  return readBareValue(header, key, valueStart);
}

function readQuotedValue(header: string, key: string, start: number): Result<Pair> {
  let value = '';
  let position = start;
  while (position < header.length) {
    const char = header.charAt(position);
    if (char === '"') {
      const end = position + 1;
      if (end < header.length && !';,'.includes(header.charAt(end))) {
        return fail('x-forwarded-client-cert has text after a quoted value');
      }
      return { ok: true, value: { key, value, end } };
    }
    // Only `\"` is an escape (Envoy's documented rule); other backslashes are kept, as in a DN's `\,`.
    if (char === '\\' && header[position + 1] === '"') {
      value += '"';
      position += 2;
    } else {
      value += char;
      position += 1;
    }
  }
  return fail('x-forwarded-client-cert has an unterminated quoted value');
}

// Envoy writes By and URI unquoted even when they contain `=`, so only `;`, `,` and `"` end or break one.
function readBareValue(header: string, key: string, start: number): Result<Pair> {
  let end = start;
  while (end < header.length && !';,'.includes(header.charAt(end))) end++;
  const value = header.slice(start, end);
  if (value.includes('"')) return fail('x-forwarded-client-cert has a double quote inside an unquoted value');
  return { ok: true, value: { key, value, end } };
}

function skipWhitespace(header: string, start: number): number {
  let position = start;
  while (header[position] === ' ' || header[position] === '\t') position++;
  return position;
}

// Unknown keys are ignored so a newer Envoy's additions do not break us. An empty list value
// lists nothing: Envoy writes `URI=` for a certificate without URI SANs.
function addPair(element: MutableElement, { key, value }: Pair): string | undefined {
  const name = key.toLowerCase();
  switch (name) {
    case 'by':
    case 'uri':
    case 'dns':
      if (value !== '') element[name].push(value);
      return undefined;
    case 'hash':
    case 'cert':
    case 'chain':
    case 'subject':
      if (element[name] !== undefined) return `x-forwarded-client-cert element has more than one ${name}`;
      element[name] = value;
      return undefined;
    default:
      return undefined;
  }
}
