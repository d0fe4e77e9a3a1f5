import { X509Certificate } from 'node:crypto';
import type { Result } from '../core/result.js';
import { uriSans } from './mtls.js';

// A DER certificate with a long chain of SANs stays far below this; a header this long is not one.
const maxHeaderChars = 64 * 1024;
const byteSequence = /^:([A-Za-z0-9+/]*={0,2}):$/;

/**
 * RFC 9440 `Client-Cert`: the client certificate a TLS-terminating proxy verified, as a
 * Structured Field byte sequence (`:BASE64-DER:`). Returns its one SPIFFE URI SAN, as the last
 * element of `x-forwarded-client-cert` gives it; anything else refuses the header.
 */
export function spiffeUriOfClientCert(header: string): Result<string> {
  if (header.length > maxHeaderChars) return { ok: false, reason: `client-cert is longer than ${maxHeaderChars} characters` };
  const match = byteSequence.exec(header.trim());
  if (!match) return { ok: false, reason: 'client-cert is not a structured-field byte sequence (:BASE64:)' };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(match[1] ?? '', 'base64'));
  } catch {
    return { ok: false, reason: 'client-cert does not hold a DER certificate' };
  }
  const spiffe = uriSans(cert.subjectAltName ?? '').filter((uri) => uri.startsWith('spiffe://'));
  if (spiffe.length !== 1) return { ok: false, reason: `client-cert must carry exactly one SPIFFE URI (found ${spiffe.length})` };
  return { ok: true, value: spiffe[0]! };
}
