import type { X509Certificate } from 'node:crypto';
import { caExtensions } from './x509-extensions.js';

/** Longest chain of CAs above a leaf that is searched: a root and three intermediates. */
const maxIssuers = 4;

/**
 * Why `cert` does not chain to a root (a self-signed certificate) of `bundle`, or undefined when
 * it does. Intermediates come from the bundle (Envoy passes only the peer's own certificate):
 * SPIRE with an upstream authority signs through one. Every issuer on the path must be a CA
 * whose key may sign certificates, within its path length and, when `nowMs` is given, within
 * its validity.
 */
export function chainProblem(cert: X509Certificate, bundle: readonly X509Certificate[], nowMs: number | undefined): string | undefined {
  let problem: string | undefined;
  const search = (below: X509Certificate, path: readonly X509Certificate[]): boolean => {
    for (const issuer of bundle) {
      // Named and signed by this issuer: whatever else is wrong with it is worth telling.
      if (path.includes(issuer) || below.issuer !== issuer.subject || !below.verify(issuer.publicKey)) continue;
      const refusal = issuerProblem(issuer, path.length - 1, nowMs);
      if (refusal !== undefined) {
        problem ??= refusal;
        continue;
      }
      // OpenSSL's own issuer check besides (key identifiers, key usage), as a last word.
      if (!below.checkIssued(issuer)) continue;
      if (isSelfSigned(issuer)) return true;
      if (path.length >= maxIssuers) {
        problem ??= `the chain is longer than ${maxIssuers} certificate authorities`;
        continue;
      }
      if (search(issuer, [...path, issuer])) return true;
    }
    return false;
  };
  return search(cert, [cert]) ? undefined : (problem ?? 'not issued by the trust bundle');
}

/** basicConstraints CA:true as written, whatever its key usage says. */
export function isCertificateAuthority(cert: X509Certificate): boolean {
  return caExtensions(cert).isCa;
}

export function isSelfSigned(cert: X509Certificate): boolean {
  return cert.checkIssued(cert) && cert.verify(cert.publicKey);
}

export function isWithinValidity(cert: X509Certificate, nowMs: number): boolean {
  return nowMs >= Date.parse(cert.validFrom) && nowMs <= Date.parse(cert.validTo);
}

/** `intermediatesBelow`: the CAs between this issuer and the leaf. */
function issuerProblem(issuer: X509Certificate, intermediatesBelow: number, nowMs: number | undefined): string | undefined {
  const name = JSON.stringify(issuer.subject.replace(/\n/g, ', '));
  const { isCa, keyCertSignDenied, pathLength } = caExtensions(issuer);
  if (!isCa) return `issuer ${name} is not a certificate authority (basicConstraints CA:true)`;
  if (keyCertSignDenied) return `issuer ${name} may not sign certificates (keyUsage without keyCertSign)`;
  if (pathLength !== undefined && intermediatesBelow > pathLength) return `issuer ${name} allows ${pathLength} intermediate CAs below it, not ${intermediatesBelow}`;
  if (nowMs !== undefined && !isWithinValidity(issuer, nowMs)) return `issuer ${name} is outside its validity period`;
  return undefined;
}
