import { X509Certificate } from 'node:crypto';
import type { AuthnResult } from '../../src/core/identity.js';
import type { PeerFacts } from '../../src/core/request-facts.js';
import { classifierFromRules } from '../../src/identity/classify.js';
import { workloadFromPeer, workloadFromSpiffeUri, type MtlsTrust } from '../../src/identity/mtls.js';
import { makeTestCa, type TestCa } from '../support/certs.js';

const frontendUri = 'spiffe://cluster.local/ns/shop/sa/frontend';

function trust(bundlePem?: string): MtlsTrust {
  return {
    trustDomains: new Set(['cluster.local']),
    bundles: bundlePem === undefined ? new Map() : new Map([['cluster.local', [new X509Certificate(bundlePem)]]]),
    classify: classifierFromRules([]),
  };
}

const peer = (principal: string, certificate = ''): PeerFacts => ({ address: '10.0.0.1', port: 443, principal, certificate });

const refusal = (result: AuthnResult | undefined): string => (result === undefined ? 'none' : result.ok ? 'accepted' : `${result.code}: ${result.detail}`);

describe('refusal details name the credential that failed', () => {
  let ca: TestCa;
  beforeAll(() => {
    ca = makeTestCa();
  });

  test.each([
    // Regression: a malformed principal without a certificate was reported as a forwarded client certificate.
    ['a malformed peer principal without a certificate', peer('spiffe://cluster.local/ns/../sa/x'), false, /^malformed_spiffe_id: mTLS peer principal \(source\.principal\): /],
    ['a malformed peer principal with a certificate', peer('spiffe:///no-domain', 'x'), false, /^malformed_spiffe_id: mTLS peer principal \(source\.principal\): /],
    ['a peer principal of a foreign trust domain', peer('spiffe://other.example/ns/a/sa/b'), false, /^untrusted_trust_domain: mTLS peer principal \(source\.principal\): trust domain other\.example /],
    ['a certificate that does not parse', peer(frontendUri, 'garbage'), false, /^certificate_invalid: peer certificate: /],
    ['no certificate although a bundle is configured', peer(frontendUri), true, /^certificate_invalid: peer certificate: /],
  ])('%s', (_name, facts, withBundle, expected) => {
    const result = workloadFromPeer(facts, trust(withBundle ? ca.caPem : undefined), Date.now());
    expect(refusal(result)).toMatch(expected);
  });

  test('a certificate naming another workload', () => {
    const cert = encodeURIComponent(ca.issue('orders', ['spiffe://cluster.local/ns/shop/sa/orders']));
    const result = workloadFromPeer(peer(frontendUri, cert), trust(), Date.now());
    expect(refusal(result)).toMatch(/^certificate_mismatch: peer certificate: /);
  });

  test.each([
    ['of a foreign trust domain', 'spiffe://other.example/ns/a/sa/b', /^untrusted_trust_domain: forwarded client certificate \(x-forwarded-client-cert\): trust domain other\.example /],
    ['that is malformed', 'spiffe://', /^malformed_spiffe_id: forwarded client certificate \(x-forwarded-client-cert\): /],
  ])('a forwarded SPIFFE ID %s', (_name, uri, expected) => {
    expect(refusal(workloadFromSpiffeUri(uri, trust(), 'forwarded client certificate (x-forwarded-client-cert)'))).toMatch(expected);
  });
});

describe('workloadFromPeer', () => {
  test('no principal is no peer identity', () => {
    expect(workloadFromPeer(peer(''), trust(), Date.now())).toBeUndefined();
  });

  test('the trust bundle is found by the parsed trust domain', () => {
    // Without a bundle for the principal's domain, a certificate is only cross-checked, not chain-verified.
    const cert = encodeURIComponent(makeTestCa().issue('frontend', [frontendUri]));
    const bundled = trust(makeTestCa().caPem);
    expect(refusal(workloadFromPeer(peer(frontendUri, cert), bundled, Date.now()))).toMatch(/^certificate_invalid: peer certificate: not issued by the trust bundle/);
    expect(refusal(workloadFromPeer(peer(frontendUri, cert), trust(), Date.now()))).toBe('accepted');
  });
});
