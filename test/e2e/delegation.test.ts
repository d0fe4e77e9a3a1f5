/**
 * Who acts for whom, through the real server with real signed tokens: a person's token carried
 * over mTLS, RFC 8693 `act` chains of depth 1, 2 and 3, an actor that is not the mTLS peer, an
 * actor in an untrusted domain, and `act` without a peer. The shipped policies decide
 * (policies/delegation.cedar): the support assistant reads tickets for staff, never writes, and
 * a build job never acts for anyone in shop.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRequest, GatehouseClient, headerValue, statusCode, type RequestSpec } from '../support/check-client.js';
import { cleanup, scratchDir, startGatehouse, type DecisionLine, type ServerProcess } from '../support/server-process.js';
import { Issuer } from '../faults/issuer.js';

const idp = 'https://login.example.com';
const assistant = 'spiffe://cluster.local/ns/agents/sa/assistant';
const frontend = 'spiffe://cluster.local/ns/shop/sa/frontend';
const builder = 'spiffe://cluster.local/ns/ci/sa/builder';
const checkout = 'spiffe://cluster.local/ns/shop/sa/checkout';

let issuer: Issuer;
let server: ServerProcess;
let client: GatehouseClient;

beforeAll(async () => {
  issuer = await Issuer.create();
  const jwksFile = join(await scratchDir('delegation'), 'jwks.json');
  await writeFile(jwksFile, JSON.stringify(issuer.jwks));
  server = await startGatehouse({
    configYaml: [
      'identity:',
      '  classes:',
      '    - { class: build, namespace: ci }',
      '    - { class: agent, namespace: agents }',
      '  jwt:',
      `    - issuer: "${idp}"`,
      '      kind: oidc',
      '      audiences: ["gatehouse"]',
      `      jwksFile: "${jwksFile}"`,
      '',
    ].join('\n'),
  });
  client = new GatehouseClient(server.grpcTarget);
});

afterAll(async () => {
  client?.close();
  await cleanup();
});

const alice = (act?: unknown): Promise<string> => issuer.userToken(idp, 'alice', ['staff'], {}, act === undefined ? {} : { act });

async function decide(spec: RequestSpec): Promise<{ status: number; actor: string | undefined; principal: string | undefined; line: DecisionLine & { actor?: string; delegation?: unknown } }> {
  const response = await client.check(checkRequest(spec));
  const line = (await server.decision(headerValue(response, 'x-gatehouse-decision-id')!)) as DecisionLine & { actor?: string; delegation?: unknown };
  return { status: statusCode(response), actor: headerValue(response, 'x-gatehouse-actor'), principal: headerValue(response, 'x-gatehouse-principal'), line };
}

const tickets = { service: 'tickets.support', host: 'tickets.support', path: '/tickets/7' };

test('a person over the assistant’s mTLS: the person is the principal, the assistant the actor, and it may read', async () => {
  const decided = await decide({ ...tickets, principal: assistant, token: await alice() });
  expect(decided).toMatchObject({ status: 0, principal: 'alice', actor: assistant });
  expect(decided.line).toMatchObject({ decision: 'allow', principal: 'User::"alice"', actor: `Workload::"${assistant}"`, actorClass: 'agent', delegation: { depth: 1, actors: [assistant] }, policies: ['assistant-reads-tickets-for-staff'] });
});

test('the assistant never writes for anyone', async () => {
  expect(await decide({ ...tickets, method: 'POST', principal: assistant, token: await alice() })).toMatchObject({ status: 7, line: { reason: 'policy_denied' } });
});

test('the same person through another workload is not the assistant', async () => {
  const decided = await decide({ ...tickets, principal: frontend, token: await alice() });
  expect(decided).toMatchObject({ status: 7, line: { reason: 'policy_denied', principal: 'User::"alice"', actor: `Workload::"${frontend}"` } });
});

test('a build job carrying a person’s token is still a build job in shop', async () => {
  const decided = await decide({ principal: builder, token: await alice(), service: 'orders.shop', path: '/api/orders/1' });
  expect(decided).toMatchObject({ status: 7, line: { reason: 'policy_denied', policies: ['build-jobs-never-act-in-shop'] } });
});

test.each([
  ['act naming the assistant, no mTLS peer', { sub: assistant }, undefined, 0, ''],
  ['act naming the assistant, the assistant as peer', { sub: assistant }, assistant, 0, ''],
  ['act naming the assistant, another workload as peer', { sub: assistant }, frontend, 16, 'identity_mismatch'],
  ['a chain of depth 2 (the maximum)', { sub: assistant, act: { sub: checkout } }, undefined, 0, ''],
  // policies/delegation.cedar: authority the frontend carried goes to orders only, one hop.
  ['a chain through the frontend, off its declared path', { sub: assistant, act: { sub: frontend } }, undefined, 7, 'policy_denied'],
  ['a chain of depth 3', { sub: assistant, act: { sub: frontend, act: { sub: builder } } }, undefined, 16, 'delegation_too_deep'],
  ['an actor in an untrusted domain', { sub: 'spiffe://evil.example/ns/agents/sa/assistant' }, undefined, 16, 'untrusted_trust_domain'],
])('%s', async (_name, act, peer, status, reason) => {
  const decided = await decide({ ...tickets, ...(peer === undefined ? {} : { principal: peer }), token: await alice(act) });
  expect({ status: decided.status, reason: decided.line.reason }).toEqual({ status, reason });
  if (status === 0) expect(decided.actor).toBe(assistant);
  else expect(decided.actor).toBeUndefined();
});
