import { fail, type Result } from './result.js';
import { trustDomainProblem, type TrustDomain } from './trust-domain.js';

// Limits from the SPIFFE ID standard (SPIFFE-ID.md §2.1 and §2.3). Every valid ID is ASCII, so
// its length in UTF-16 code units is its length in bytes; a string with other characters is
// refused for those characters whatever its length.
const MAX_ID_BYTES = 2048;

// Lower case only, as go-spiffe: a case-folded scheme would be accepted here and refused by
// every SPIFFE library that checks the certificate, so the same peer would get two answers.
const SCHEME = 'spiffe://';

/** A SPIFFE ID (`spiffe://trust-domain/path`), valid by construction: the only way to get one is to parse. */
export class SpiffeId {
  private constructor(
    /** Lower-case trust domain, e.g. `cluster.local`. */
    readonly trustDomain: TrustDomain,
    /** `''` or `/seg/seg…`: no empty, dot or trailing segments. */
    readonly path: string,
  ) {
    Object.freeze(this);
  }

  static parse(input: string): Result<SpiffeId> {
    if (input === '') return fail('SPIFFE ID is empty');
    if (input.length > MAX_ID_BYTES) return fail(`SPIFFE ID is longer than ${MAX_ID_BYTES} bytes`);
    if (!input.startsWith(SCHEME)) return fail('SPIFFE ID must start with spiffe://');

    const rest = input.slice(SCHEME.length);
    const suffix = /[?#]/.exec(rest);
    if (suffix?.[0] === '?') return fail('SPIFFE ID must not have a query');
    if (suffix?.[0] === '#') return fail('SPIFFE ID must not have a fragment');

    const slash = rest.indexOf('/');
    const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
    const path = slash === -1 ? '' : rest.slice(slash);
    const problem = trustDomainProblem(trustDomain) ?? pathProblem(path);
    return problem === undefined ? { ok: true, value: new SpiffeId(trustDomain as TrustDomain, path) } : fail(problem);
  }

  /**
   * The ID Istio and SPIRE's Kubernetes registrar give a service account:
   * `spiffe://TRUST_DOMAIN/ns/NAMESPACE/sa/SERVICE_ACCOUNT`.
   */
  static forServiceAccount(trustDomain: string, namespace: string, serviceAccount: string): Result<SpiffeId> {
    const problem =
      trustDomainProblem(trustDomain) ??
      componentProblem('namespace', namespace) ??
      componentProblem('service account', serviceAccount);
    if (problem !== undefined) return fail(problem);
    return SpiffeId.parse(`spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`);
  }

  /** The namespace and service account when the path is exactly `/ns/NS/sa/SA`. */
  kubernetesParts(): { namespace: string; serviceAccount: string } | undefined {
    const [root, ns, namespace, sa, serviceAccount, ...more] = this.path.split('/');
    const isKubernetesForm = root === '' && ns === 'ns' && sa === 'sa' && more.length === 0;
    if (!isKubernetesForm || namespace === undefined || serviceAccount === undefined) return undefined;
    return { namespace, serviceAccount };
  }

  equals(other: SpiffeId): boolean {
    return this.trustDomain === other.trustDomain && this.path === other.path;
  }

  toString(): string {
    return `spiffe://${this.trustDomain}${this.path}`;
  }
}

function pathProblem(path: string): string | undefined {
  if (path === '') return undefined;
  if (path.endsWith('/')) return 'path has a trailing slash';
  for (const segment of path.slice(1).split('/')) {
    const problem = segmentProblem(segment);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function segmentProblem(segment: string): string | undefined {
  if (segment === '') return 'path has an empty segment';
  if (segment === '.' || segment === '..') return 'path has a dot segment';
  for (const char of segment) {
    if (/^[a-zA-Z0-9._-]$/.test(char)) continue;
    if (char === '%') return 'path must not be percent-encoded';
    return 'path segment contains an invalid character';
  }
  return undefined;
}

// Checked on its own so that a `/` cannot smuggle extra segments into the ID.
function componentProblem(name: string, value: string): string | undefined {
  const problem = value.includes('/') ? 'path segment contains an invalid character' : segmentProblem(value);
  return problem === undefined ? undefined : `${name} is not a valid SPIFFE path segment: ${problem}`;
}
