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

/** A throwaway CA made with the openssl CLI, because node:crypto can read certificates but not make them. */
export function makeTestCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ca-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/O=test-ca');
  return {
    dir,
    caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    issue(name, uris, days = 1) {
      const ext = join(dir, `${name}.ext`);
      writeFileSync(ext, uris.length > 0 ? `subjectAltName=${uris.map((u) => `URI:${u}`).join(',')}\n` : 'basicConstraints=CA:FALSE\n');
      openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/O=${name}`);
      openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', String(days), '-extfile', ext);
      return readFileSync(join(dir, `${name}.pem`), 'utf8');
    },
  };
}
