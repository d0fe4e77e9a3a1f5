/* global URL */
// A token and JWKS for the fa-token load of http-cpu.mjs and http-ab.mjs, in /tmp/gatehouse-perf-*.json.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(new URL('../../package.json', import.meta.url));
const { exportJWK, generateKeyPair, SignJWT } = await import(require.resolve('jose'));
const { publicKey, privateKey } = await generateKeyPair('ES256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' };
writeFileSync('/tmp/gatehouse-perf-jwks.json', JSON.stringify({ keys: [jwk] }));
const issuer = 'https://kubernetes.default.svc.cluster.local';
const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({ 'kubernetes.io': { namespace: 'shop', serviceaccount: { name: 'frontend', uid: 'u-1' }, pod: { name: 'frontend-1', uid: 'p-1' } } })
  .setProtectedHeader({ alg: 'ES256', kid: 'bench' }).setIssuer(issuer).setSubject('system:serviceaccount:shop:frontend').setAudience('gatehouse').setIssuedAt(now).setExpirationTime(now + 36000).sign(privateKey);
const config = `identity:\n  jwt:\n    - issuer: "${issuer}"\n      kind: kubernetes\n      audiences: ["gatehouse"]\n      jwksFile: "/tmp/gatehouse-perf-jwks.json"\n`;
writeFileSync('/tmp/gatehouse-perf-token.json', JSON.stringify({ token, config }));
