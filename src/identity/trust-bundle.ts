import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ErrorCode, GatehouseError } from '../errors.js';

const pemBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Reads `identity.trustBundles` (trust domain → PEM file of CA certificates) once at start. */
export function loadTrustBundles(files: Readonly<Record<string, string>>): Map<string, X509Certificate[]> {
  const bundles = new Map<string, X509Certificate[]>();
  for (const [trustDomain, file] of Object.entries(files)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new GatehouseError(ErrorCode.config, `identity.trustBundles.${trustDomain}: cannot read ${file}: ${(err as Error).message}`);
    }
    const certs = (text.match(pemBlock) ?? []).map((pem) => new X509Certificate(pem));
    if (certs.length === 0) throw new GatehouseError(ErrorCode.config, `identity.trustBundles.${trustDomain}: ${file} holds no PEM certificate`);
    bundles.set(trustDomain, certs);
  }
  return bundles;
}
