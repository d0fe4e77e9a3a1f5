import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ErrorCode, errorMessage, GatehouseError } from '../errors.js';
import { chainProblem, isSelfSigned } from './cert-chain.js';

const pemBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Reads `identity.trustBundles` (trust domain → PEM file of CA certificates) once at start. A
 * bundle holds its roots (self-signed) and may hold intermediates, each of which must chain to
 * one of its roots: otherwise the start stops, rather than a bundle that can never verify.
 */
export function loadTrustBundles(files: Readonly<Record<string, string>>): Map<string, X509Certificate[]> {
  const bundles = new Map<string, X509Certificate[]>();
  for (const [trustDomain, file] of Object.entries(files)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new GatehouseError(ErrorCode.config, `identity.trustBundles.${trustDomain}: cannot read ${file}: ${errorMessage(err)}`);
    }
    const certs = (text.match(pemBlock) ?? []).map((pem) => new X509Certificate(pem));
    if (certs.length === 0) throw new GatehouseError(ErrorCode.config, `identity.trustBundles.${trustDomain}: ${file} holds no PEM certificate`);
    if (!certs.some(isSelfSigned)) throw new GatehouseError(ErrorCode.config, `identity.trustBundles.${trustDomain}: ${file} holds no root (self-signed) certificate`);
    for (const cert of certs.filter((candidate) => !isSelfSigned(candidate))) {
      const problem = chainProblem(cert, certs, undefined);
      if (problem !== undefined) {
        throw new GatehouseError(ErrorCode.config, `identity.trustBundles.${trustDomain}: ${file}: intermediate ${JSON.stringify(cert.subject)}: ${problem}`);
      }
    }
    bundles.set(trustDomain, certs);
  }
  return bundles;
}
