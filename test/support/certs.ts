import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  readonly dir: string;
  readonly caPem: string;
  /** Issues a leaf certificate with the given URI SANs; returns its PEM. */
  issue(name: string, uris: readonly string[], days?: number): string;
}

export interface AuthorityOptions {
  /** basicConstraints CA:true (default) or not: a certificate posing as an authority. */
  readonly ca?: boolean;
  /** basicConstraints pathlen. */
  readonly pathLength?: number;
  /** keyUsage; default `keyCertSign, cRLSign` (SPIRE's), `null` for none. */
  readonly keyUsage?: string | null;
  readonly days?: number;
}

export interface LeafOptions {
  readonly days?: number;
  /** Marks the leaf CA:true: a CA certificate posing as a workload. */
  readonly ca?: boolean;
}

/** A certificate authority made with the openssl CLI: a root, or an intermediate of another. */
export interface TestAuthority {
  readonly name: string;
  readonly pem: string;
  /** An intermediate CA this one signs. */
  intermediate(name: string, options?: AuthorityOptions): TestAuthority;
  /** A workload certificate with the given URI SANs; its PEM. */
  issue(name: string, uris: readonly string[], options?: LeafOptions): string;
}

/**
 * A throwaway PKI of roots and intermediates, the shape SPIRE takes with an upstream authority:
 * the workload's certificate is signed by an intermediate that the root signed.
 */
export function makeTestPki(): { readonly dir: string; root(name: string, options?: AuthorityOptions): TestAuthority } {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pki-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const newKey = (name: string, subject: string): void => {
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
  };
  const sign = (name: string, issuer: string, extensions: readonly string[], days: number): string => {
    writeFileSync(join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', String(days), '-extfile', `${name}.ext`);
    return readFileSync(join(dir, `${name}.pem`), 'utf8');
  };
  const caExtensions = (options: AuthorityOptions): string[] => [
    `basicConstraints=critical,CA:${options.ca === false ? 'FALSE' : 'TRUE'}${options.pathLength === undefined ? '' : `,pathlen:${options.pathLength}`}`,
    ...(options.keyUsage === null ? [] : [`keyUsage=critical,${options.keyUsage ?? 'keyCertSign,cRLSign'}`]),
  ];
  const authority = (name: string, pem: string): TestAuthority => ({
    name,
    pem,
    intermediate(child, options = {}) {
      newKey(child, `/O=${child}`);
      return authority(child, sign(child, name, caExtensions(options), options.days ?? 2));
    },
    issue(leaf, uris, options = {}) {
      newKey(leaf, `/O=${leaf}`);
      const san = uris.length > 0 ? [`subjectAltName=${uris.map((u) => `URI:${u}`).join(',')}`] : [];
      return sign(leaf, name, [...san, `basicConstraints=CA:${options.ca === true ? 'TRUE' : 'FALSE'}`, 'keyUsage=critical,digitalSignature'], options.days ?? 1);
    },
  });
  return {
    dir,
    root(name, options = {}) {
      const extensions = caExtensions(options).flatMap((line) => ['-addext', line]);
      openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', String(options.days ?? 3), '-subj', `/O=${name}`, ...extensions);
      return authority(name, readFileSync(join(dir, `${name}.pem`), 'utf8'));
    },
  };
}

/** A throwaway CA and its workloads, one root of makeTestPki: node:crypto can read certificates but not make them. */
export function makeTestCa(): TestCa {
  const pki = makeTestPki();
  const ca = pki.root('ca', { days: 2 });
  return { dir: pki.dir, caPem: ca.pem, issue: (name, uris, days = 1) => ca.issue(name, uris, { days }) };
}
