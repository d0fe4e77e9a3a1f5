/**
 * Issue #14, "trust bundles accept only certificates issued directly by a bundle CA": a peer
 * certificate is accepted when it chains to a root of its trust bundle through intermediates
 * the bundle holds (SPIRE with an upstream authority signs through one), every issuer on the
 * way a CA allowed to sign certificates, within its path length and validity; a leaf that is
 * itself a CA is refused. Chains are made with the openssl CLI.
 */
import { X509Certificate } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuthnResult } from '../../src/core/identity.js';
import { classifierFromRules } from '../../src/identity/classify.js';
import { workloadFromPeer } from '../../src/identity/mtls.js';
import { loadTrustBundles } from '../../src/identity/trust-bundle.js';
import { makeTestPki, type TestAuthority } from '../support/certs.js';

const frontendUri = 'spiffe://cluster.local/ns/shop/sa/frontend';
const hour = 3600_000;

function check(leafPem: string, bundle: readonly TestAuthority[], nowMs = Date.now()): string {
  const trust = {
    trustDomains: new Set(['cluster.local']),
    bundles: new Map([['cluster.local', bundle.map((ca) => new X509Certificate(ca.pem))]]),
    classify: classifierFromRules([]),
  };
  const result: AuthnResult | undefined = workloadFromPeer({ address: '10.0.0.1', port: 443, principal: frontendUri, certificate: encodeURIComponent(leafPem) }, trust, nowMs);
  return result === undefined ? 'none' : result.ok ? 'accepted' : `${result.code}: ${result.detail}`;
}

const pki = makeTestPki();
afterAll(() => rmSync(pki.dir, { recursive: true, force: true }));

describe('a peer certificate chains to a bundle root', () => {
  const root = pki.root('root');
  const intermediate = root.intermediate('spire-intermediate');
  const second = intermediate.intermediate('spire-second');

  test.each<[string, () => string]>([
    ['issued by the root', () => check(root.issue('direct', [frontendUri]), [root])],
    ['through an intermediate held in the bundle (SPIRE with an upstream authority)', () => check(intermediate.issue('via-one', [frontendUri]), [root, intermediate])],
    ['through two intermediates, in any bundle order', () => check(second.issue('via-two', [frontendUri]), [second, root, intermediate])],
    ['through an intermediate without keyUsage (RFC 5280: every use allowed)', () => {
      const plain = root.intermediate('no-key-usage', { keyUsage: null });
      return check(plain.issue('via-plain', [frontendUri]), [root, plain]);
    }],
    ['within the root path length', () => {
      const limited = pki.root('limited-root', { pathLength: 1 });
      const below = limited.intermediate('below-limited');
      return check(below.issue('via-limited', [frontendUri]), [limited, below]);
    }],
  ])('accepted: %s', (_name, run) => {
    expect(run()).toBe('accepted');
  });

  test.each<[string, () => string, RegExp]>([
    ['the intermediate is not in the bundle', () => check(intermediate.issue('missing-link', [frontendUri]), [root]), /not issued by the trust bundle/],
    ['the bundle holds the intermediate but not the root', () => check(intermediate.issue('no-root', [frontendUri]), [intermediate]), /not issued by the trust bundle/],
    ['the intermediate is not a CA', () => {
      const fake = root.intermediate('not-a-ca', { ca: false });
      return check(fake.issue('via-not-a-ca', [frontendUri]), [root, fake]);
    }, /issuer "O=not-a-ca" is not a certificate authority/],
    ["the intermediate's key may not sign certificates", () => {
      const signer = root.intermediate('no-cert-sign', { keyUsage: 'digitalSignature' });
      return check(signer.issue('via-no-cert-sign', [frontendUri]), [root, signer]);
    }, /issuer "O=no-cert-sign" may not sign certificates/],
    ['the root allows no intermediate', () => {
      const strict = pki.root('strict-root', { pathLength: 0 });
      const below = strict.intermediate('below-strict');
      return check(below.issue('via-strict', [frontendUri]), [strict, below]);
    }, /issuer "O=strict-root" allows 0 intermediate CAs below it, not 1/],
    ['the intermediate has expired though the leaf has not', () => {
      const shortLived = root.intermediate('short-lived', { days: 1 });
      return check(shortLived.issue('outlives', [frontendUri], { days: 3 }), [root, shortLived], Date.now() + 36 * hour);
    }, /issuer "O=short-lived" is outside its validity period/],
    ['the leaf is itself a CA', () => check(intermediate.issue('leaf-ca', [frontendUri], { ca: true }), [root, intermediate]), /is a certificate authority/],
    ['an intermediate of the same name from another PKI', () => {
      const other = makeTestPki();
      try {
        const impostor = other.root('root').intermediate('spire-intermediate');
        return check(impostor.issue('impostor-leaf', [frontendUri]), [root, intermediate]);
      } finally {
        rmSync(other.dir, { recursive: true, force: true });
      }
    }, /not issued by the trust bundle/],
    ['a chain of more than four authorities', () => {
      const chain = [pki.root('deep-root')];
      for (let i = 1; i <= 4; i++) chain.push(chain.at(-1)!.intermediate(`deep-${i}`));
      return check(chain.at(-1)!.issue('deep-leaf', [frontendUri]), chain);
    }, /longer than 4 certificate authorities/],
  ])('refused: %s', (_name, run, detail) => {
    const result = run();
    expect(result).toMatch(/^certificate_invalid: peer certificate: /);
    expect(result).toMatch(detail);
  });
});

describe('loadTrustBundles', () => {
  const root = pki.root('bundle-root');
  const intermediate = root.intermediate('bundle-intermediate');
  const file = (name: string, ...authorities: TestAuthority[]): string => {
    const path = join(pki.dir, `${name}.bundle.pem`);
    writeFileSync(path, authorities.map((ca) => ca.pem).join(''));
    return path;
  };

  test('a root with its intermediate loads', () => {
    expect(loadTrustBundles({ 'cluster.local': file('full', root, intermediate) }).get('cluster.local')).toHaveLength(2);
  });

  test.each([
    ['an intermediate without its root', () => file('orphan', intermediate), /holds no root \(self-signed\) certificate/],
    ['an intermediate whose root is another', () => file('mixed', pki.root('unrelated-root'), intermediate), /intermediate "O=bundle-intermediate": not issued by the trust bundle/],
  ])('%s stops the start, naming the key', (_name, path, message) => {
    expect(() => loadTrustBundles({ 'cluster.local': path() })).toThrow(/^identity\.trustBundles\.cluster\.local: /);
    expect(() => loadTrustBundles({ 'cluster.local': path() })).toThrow(message);
  });
});
