import { UnsecuredJWT } from 'jose';
import type { AuthnResult } from '../../src/core/identity.js';
import { TokenRouter } from '../../src/identity/token-router.js';

const answer = (who: string): AuthnResult => ({ ok: false, code: 'signature_invalid', detail: who, authn: 'jwt' });
const router = new TokenRouter(new Set(['https://kubernetes.default.svc']), { verify: () => answer('review') }, { verify: () => answer('local') });
const token = (iss?: string) => new UnsecuredJWT(iss === undefined ? {} : { iss }).encode();
const routeOf = async (t: string) => {
  const result = await router.verify(t, 0);
  return result.ok ? 'ok' : result.detail;
};

// Regression: with TokenReview on, every token went to the API server and OIDC users were refused.
test.each([
  ['the cluster issuer', token('https://kubernetes.default.svc'), 'review'],
  ['an OIDC issuer', token('https://login.example.com'), 'local'],
  ['no issuer', token(), 'local'],
  ['not a JWT', 'not-a-jwt', 'local'],
])('%s goes to %s', async (_name, t, expected) => {
  expect(await routeOf(t)).toBe(expected);
});
