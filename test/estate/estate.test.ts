/**
 * Issue #14, "stay exact in real estates": one real gatehouse process trusting two OIDC issuers
 * (the company's and a partner's, each under its own prefix), two clusters' service-account
 * issuers (trust domains cluster.local and east.example), a partner's SPIRE (partner.example)
 * and a trust bundle whose workload certificates are signed through an intermediate. Each class
 * of the issue is driven over gRPC: no issuer may mint an identity that belongs to another.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRequest, GatehouseClient, headerValue, statusCode, type CheckResponse, type RequestSpec } from '../support/check-client.js';
import { makeTestPki } from '../support/certs.js';
import { cleanup, configFile, examplePolicyDir, runGatehouse, scratchDir, startGatehouse, waitFor, type ServerProcess } from '../support/server-process.js';
import { Issuer, kubernetesIssuer } from '../faults/issuer.js';

const corpIssuer = 'https://login.corp.example';
const partnerIssuer = 'https://idp.partner.example';
const eastIssuer = 'https://oidc.east.k8s.example';
const spireIssuer = 'https://spire.partner.example';
const frontend = 'spiffe://cluster.local/ns/shop/sa/frontend';
const OK = 0;
const PERMISSION_DENIED = 7;
const UNAUTHENTICATED = 16;

const policies = `
@id("corp-alice-reads-orders")
permit (principal == User::"corp:alice", action in Action::"read", resource == Service::"orders.shop");

@id("corp-sre-reads-admin")
permit (principal in Group::"corp:sre", action in Action::"read", resource)
when { context.path like "/admin/*" };

@id("frontend-reads-orders")
permit (principal == Workload::"${frontend}", action in Action::"read", resource == Service::"orders.shop");
`;

let server: ServerProcess;
let client: GatehouseClient;
let dir: string;
const issuers = {} as Record<'corp' | 'corpNext' | 'partner' | 'local' | 'east' | 'spire', Issuer>;
const pki = makeTestPki();
const root = pki.root('estate-root');
const intermediate = root.intermediate('spire-upstream-intermediate');

function identityYaml(jwt: string): string {
  return `identity:\n  trustDomains: ["cluster.local", "east.example", "partner.example"]\n  jwt:\n${jwt}`;
}

function issuerYaml(issuer: string, kind: string, jwksFile: string, extra: string): string {
  return `    - issuer: "${issuer}"\n      kind: ${kind}\n      audiences: ["gatehouse"]\n      jwksFile: "${jwksFile}"\n${extra}`;
}

beforeAll(async () => {
  for (const name of ['corp', 'corpNext', 'partner', 'local', 'east', 'spire'] as const) issuers[name] = await Issuer.create(`${name}-1`);
  dir = await scratchDir('estate');
  const jwks = async (name: string, issuer: Issuer): Promise<string> => {
    const file = join(dir, `${name}.json`);
    await writeFile(file, JSON.stringify(issuer.jwks));
    return file;
  };
  const policyDir = join(dir, 'policies');
  await mkdir(policyDir);
  await copyFile(join(examplePolicyDir, 'schema.cedarschema'), join(policyDir, 'schema.cedarschema'));
  await writeFile(join(policyDir, 'estate.cedar'), policies);
  const bundle = join(dir, 'cluster.local.pem');
  await writeFile(bundle, root.pem + intermediate.pem);
  const configYaml =
    identityYaml(
      issuerYaml(corpIssuer, 'oidc', await jwks('corp', issuers.corp), '      userPrefix: "corp:"\n') +
        issuerYaml(partnerIssuer, 'oidc', await jwks('partner', issuers.partner), '      userPrefix: "partner:"\n') +
        issuerYaml(kubernetesIssuer, 'kubernetes', await jwks('local', issuers.local), '      trustDomain: "cluster.local"\n') +
        issuerYaml(eastIssuer, 'kubernetes', await jwks('east', issuers.east), '      trustDomain: "east.example"\n') +
        issuerYaml(spireIssuer, 'spiffe', await jwks('spire', issuers.spire), '      trustDomain: "partner.example"\n'),
    ) + `  trustBundles:\n    cluster.local: "${bundle}"\n`;
  server = await startGatehouse({ configYaml, policies: policyDir });
  client = new GatehouseClient(server.grpcTarget);
});

afterAll(async () => {
  client?.close();
  await cleanup();
});

interface Outcome {
  readonly status: number;
  readonly principal: string;
  readonly reason: string;
  readonly upstream: string | undefined;
}

async function check(spec: RequestSpec & { certificate?: string }): Promise<Outcome> {
  const request = checkRequest({ path: '/api/orders/1', ...spec });
  if (spec.certificate !== undefined) {
    const attributes = request.attributes as { source: Record<string, unknown> };
    attributes.source.certificate = encodeURIComponent(spec.certificate);
  }
  const response: CheckResponse = await client.check(request);
  const id = headerValue(response, 'x-gatehouse-decision-id');
  if (id === undefined) throw new Error('no decision id in the response');
  const line = await server.decision(id);
  return { status: statusCode(response), principal: line.principal, reason: line.reason, upstream: headerValue(response, 'x-gatehouse-principal') };
}

describe('people are bound to their issuer', () => {
  test.each<[string, () => Promise<string>, string, Partial<Outcome>]>([
    ["the company's alice reads orders", () => issuers.corp.userToken(corpIssuer, 'alice', []), '/api/orders/1', { status: OK, principal: 'User::"corp:alice"', upstream: 'corp:alice' }],
    ["a partner's alice is not the company's", () => issuers.partner.userToken(partnerIssuer, 'alice', []), '/api/orders/1', { status: PERMISSION_DENIED, principal: 'User::"partner:alice"' }],
    ["a partner's sub spelling the company prefix stays the partner's", () => issuers.partner.userToken(partnerIssuer, 'corp:alice', []), '/api/orders/1', { status: PERMISSION_DENIED, principal: 'User::"partner:corp:alice"' }],
    ["the company's sre group reads admin pages", () => issuers.corp.userToken(corpIssuer, 'bob', ['sre']), '/admin/flags', { status: OK, principal: 'User::"corp:bob"', upstream: 'corp:bob' }],
    ["a partner's sre group is not the company's", () => issuers.partner.userToken(partnerIssuer, 'bob', ['sre']), '/admin/flags', { status: PERMISSION_DENIED, principal: 'User::"partner:bob"' }],
    ["a partner's group spelling the company prefix is not the company's", () => issuers.partner.userToken(partnerIssuer, 'bob', ['corp:sre']), '/admin/flags', { status: PERMISSION_DENIED }],
    ["the partner's key cannot sign as the company", () => issuers.partner.userToken(corpIssuer, 'alice', []), '/api/orders/1', { status: UNAUTHENTICATED, reason: 'unknown_key' }],
  ])('%s', async (_name, token, path, expected) => {
    expect(await check({ token: await token(), path })).toMatchObject(expected);
  });
});

describe('each workload issuer names workloads in its own trust domain only', () => {
  const svid = (issuer: Issuer, sub: string) => issuer.userToken(spireIssuer, sub, []);
  test.each<[string, () => Promise<string>, Partial<Outcome>]>([
    ["the local cluster's frontend", () => issuers.local.serviceAccountToken('shop', 'frontend'), { status: OK, principal: `Workload::"${frontend}"`, upstream: frontend }],
    [
      "the east cluster's shop/frontend is east's, not ours",
      () => issuers.east.serviceAccountToken('shop', 'frontend', { iss: eastIssuer }),
      { status: PERMISSION_DENIED, principal: 'Workload::"spiffe://east.example/ns/shop/sa/frontend"' },
    ],
    ["the partner's SPIRE names its own workload", () => svid(issuers.spire, 'spiffe://partner.example/billing'), { status: PERMISSION_DENIED, principal: 'Workload::"spiffe://partner.example/billing"' }],
    ["the partner's SPIRE cannot name our frontend", () => svid(issuers.spire, frontend), { status: UNAUTHENTICATED, reason: 'untrusted_trust_domain' }],
    ["the partner's SPIRE cannot name east's workloads", () => svid(issuers.spire, 'spiffe://east.example/ns/shop/sa/frontend'), { status: UNAUTHENTICATED, reason: 'untrusted_trust_domain' }],
    ["the partner's SPIRE cannot use an upper-case scheme", () => svid(issuers.spire, 'SPIFFE://partner.example/billing'), { status: UNAUTHENTICATED, reason: 'malformed_spiffe_id' }],
  ])('%s', async (_name, token, expected) => {
    expect(await check({ token: await token() })).toMatchObject(expected);
  });
});

describe('SPIFFE IDs have a lower-case scheme, with a certificate or without', () => {
  const upper = frontend.replace('spiffe://', 'SPIFFE://');
  test('an upper-case principal without a certificate is refused', async () => {
    expect(await check({ principal: upper })).toMatchObject({ status: UNAUTHENTICATED, reason: 'malformed_spiffe_id' });
  });

  test('an upper-case principal with a certificate is refused alike', async () => {
    expect(await check({ principal: upper, certificate: intermediate.issue('upper', [upper]) })).toMatchObject({ status: UNAUTHENTICATED, reason: 'malformed_spiffe_id' });
  });
});

describe('peer certificates chain to the bundle root through its intermediate', () => {
  test('a certificate signed by the intermediate is accepted', async () => {
    expect(await check({ principal: frontend, certificate: intermediate.issue('frontend', [frontend]) })).toMatchObject({ status: OK, principal: `Workload::"${frontend}"` });
  });

  test.each<[string, () => string]>([
    ['an intermediate the bundle does not hold', () => root.intermediate('rogue-intermediate').issue('rogue', [frontend])],
    ['a leaf that is itself a CA', () => intermediate.issue('leaf-ca', [frontend], { ca: true })],
    ['an intermediate that is not a CA', () => root.intermediate('not-a-ca', { ca: false }).issue('via-not-a-ca', [frontend])],
  ])('refused: %s', async (_name, certificate) => {
    expect(await check({ principal: frontend, certificate: certificate() })).toMatchObject({ status: UNAUTHENTICATED, reason: 'certificate_invalid' });
  });
});

describe("a key removed from an issuer's key set ends its tokens", () => {
  test('a cached token of a key dropped from the JWKS file is refused after the refresh', async () => {
    const token = await issuers.corp.userToken(corpIssuer, 'alice', []);
    expect(await check({ token })).toMatchObject({ status: OK, principal: 'User::"corp:alice"' });
    expect(await check({ token })).toMatchObject({ status: OK });
    await writeFile(join(dir, 'corp.json'), JSON.stringify(issuers.corpNext.jwks));
    const next = await issuers.corpNext.userToken(corpIssuer, 'alice', []);
    // The file is polled: once the new key verifies, the refresh has happened.
    await waitFor('the rotated corp key set', async () => ((await check({ token: next })).status === OK ? true : undefined), 10_000, 200);
    expect(await check({ token })).toMatchObject({ status: UNAUTHENTICATED, reason: 'unknown_key' });
  });
});

describe('an estate that leaves an issuer unbound does not start', () => {
  test.each([
    [
      'a second oidc issuer without userPrefix',
      identityYaml(issuerYaml(corpIssuer, 'oidc', '/k', '      userPrefix: "corp:"\n') + issuerYaml(partnerIssuer, 'oidc', '/k', '')),
      'identity.jwt.1.userPrefix',
    ],
    ['a spiffe issuer without trustDomain', identityYaml(issuerYaml(spireIssuer, 'spiffe', '/k', '')), 'identity.jwt.0.trustDomain'],
    [
      'a second cluster without trustDomain',
      identityYaml(issuerYaml(kubernetesIssuer, 'kubernetes', '/k', '      trustDomain: "cluster.local"\n') + issuerYaml(eastIssuer, 'kubernetes', '/k', '')),
      'identity.jwt.1.trustDomain',
    ],
  ])('%s: exit 2 naming the key', async (_name, yaml, key) => {
    const result = await runGatehouse(['serve', '--config', await configFile(yaml), '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(key);
  });
});
