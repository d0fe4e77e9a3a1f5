import { X509Certificate } from 'node:crypto';
import { refusal, type AuthnResult } from '../core/identity.js';
import type { PeerFacts } from '../core/request-facts.js';
import { ErrorCode } from '../errors.js';
import { chainProblem, isCertificateAuthority, isWithinValidity } from './cert-chain.js';
import type { WorkloadClassifier } from './classify.js';
import { SpiffeId } from '../core/spiffe-id.js';
import { RememberedResults } from './remembered-results.js';

export interface MtlsTrust {
  readonly trustDomains: ReadonlySet<string>;
  /** CA certificates (roots and intermediates) per trust domain; when a domain has a bundle, peer certificates must chain to one of its roots. */
  readonly bundles: ReadonlyMap<string, readonly X509Certificate[]>;
  readonly classify: WorkloadClassifier;
}

/**
 * The workload named by the peer certificate Envoy verified: `source.principal` (its URI SAN),
 * cross-checked against `source.certificate` when Envoy sent it. undefined when no principal.
 * The principal is parsed first: the trust bundle is looked up by its parsed trust domain.
 */
export function workloadFromPeer(peer: PeerFacts, trust: MtlsTrust, nowMs: number): AuthnResult | undefined {
  if (peer.principal === '') return undefined;
  const principal = principalWorkload(peer.principal, trust);
  if (!principal.ok || principal.identity.kind !== 'workload') return principal;
  const bundle = trust.bundles.get(principal.identity.spiffeId.trustDomain);
  if (peer.certificate !== '') return checkCertificate(peer.certificate, principal.identity.spiffeId, bundle, nowMs) ?? principal;
  if (bundle) return refusal('mtls', ErrorCode.certificateInvalid, 'peer certificate: none sent, but a trust bundle is configured (set include_peer_certificate)');
  return principal;
}

const remembered = new WeakMap<MtlsTrust, RememberedResults>();

// A mesh presents the same few principals on every request: parse and classify each once.
function principalWorkload(principal: string, trust: MtlsTrust): AuthnResult {
  let results = remembered.get(trust);
  if (!results) remembered.set(trust, (results = new RememberedResults()));
  return results.of(principal, (value) => workloadFromSpiffeUri(value, trust, peerPrincipal));
}

/**
 * Where a SPIFFE ID came from, named in a refusal's detail: an operator reading the decision log
 * must be sent to the credential that was wrong (Envoy's peer certificate, or the proxy's XFCC).
 */
export type SpiffeSource =
  | 'mTLS peer principal (source.principal)'
  | 'forwarded client certificate (x-forwarded-client-cert)'
  | 'forwarded client certificate (client-cert)'
  | 'test case caller';

const peerPrincipal: SpiffeSource = 'mTLS peer principal (source.principal)';

/** A SPIFFE ID from a trusted `source` → a workload, trust domain checked. */
export function workloadFromSpiffeUri(uri: string, trust: MtlsTrust, source: SpiffeSource): AuthnResult {
  const parsed = SpiffeId.parse(uri);
  if (!parsed.ok) return refusal('mtls', ErrorCode.malformedSpiffeId, `${source}: ${parsed.reason}`);
  if (!trust.trustDomains.has(parsed.value.trustDomain)) {
    return refusal('mtls', ErrorCode.untrustedTrustDomain, `${source}: trust domain ${parsed.value.trustDomain} is not trusted`);
  }
  return workloadResult(parsed.value, trust);
}

function workloadResult(id: SpiffeId, trust: MtlsTrust): AuthnResult {
  return { ok: true, identity: Object.freeze({ kind: 'workload', spiffeId: id, class: trust.classify(id), authn: 'mtls' }) };
}

function checkCertificate(encoded: string, id: SpiffeId, bundle: readonly X509Certificate[] | undefined, nowMs: number): AuthnResult | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(decodeURIComponent(encoded));
  } catch {
    return refusal('mtls', ErrorCode.certificateInvalid, 'peer certificate: does not parse');
  }
  const uris = uriSans(cert.subjectAltName ?? '');
  if (uris.length !== 1 || uris[0] !== id.toString()) {
    return refusal('mtls', ErrorCode.certificateMismatch, `peer certificate: must carry exactly one URI SAN equal to the principal (found ${uris.length})`);
  }
  if (!bundle) return undefined;
  if (!isWithinValidity(cert, nowMs)) return refusal('mtls', ErrorCode.certificateInvalid, 'peer certificate: outside its validity period');
  if (isCertificateAuthority(cert)) return refusal('mtls', ErrorCode.certificateInvalid, 'peer certificate: is a certificate authority (basicConstraints CA:true), not a workload');
  const problem = chainProblem(cert, bundle, nowMs);
  return problem === undefined ? undefined : refusal('mtls', ErrorCode.certificateInvalid, `peer certificate: ${problem}`);
}

/** Node renders SANs as `URI:a, DNS:b`, quoting (JSON-style) any value that holds a separator. */
export function uriSans(subjectAltName: string): string[] {
  const out: string[] = [];
  const entry = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (const match of subjectAltName.matchAll(entry)) {
    if (match[1] !== 'URI') continue;
    const raw = match[2] ?? '';
    out.push(raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
  }
  return out;
}
