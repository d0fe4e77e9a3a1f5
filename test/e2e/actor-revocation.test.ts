/**
 * Revocation follows the actor, through the real server watching a fake API server: once the
 * acting workload's service account is deleted, the requests it presents are refused
 * (`credential_revoked`) for every person, whether it carries their token over mTLS or is named
 * by their token's `act`; recreating the account ends the refusal. The shipped policies decide
 * (policies/delegation.cedar: the support assistant reads tickets for staff).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRequest, GatehouseClient, headerValue, statusCode, type RequestSpec } from '../support/check-client.js';
import { cleanup, scratchDir, startGatehouse, waitFor, type ServerProcess } from '../support/server-process.js';
import { Issuer } from '../faults/issuer.js';
import { FakeApiServer } from '../kubernetes/fake-api-server.js';
import { namespace, serviceAccount } from '../kubernetes/support.js';

const idp = 'https://login.example.com';
const assistant = 'spiffe://cluster.local/ns/agents/sa/assistant';

let issuer: Issuer;
let api: FakeApiServer;
let server: ServerProcess;
let client: GatehouseClient;

beforeAll(async () => {
  issuer = await Issuer.create();
  api = await FakeApiServer.start();
  api.put('namespaces', namespace('agents', {}));
  api.put('serviceaccounts', serviceAccount('agents', 'assistant', 'sa-assistant-1', 'agent'));
  const dir = await scratchDir('actor-revocation');
  const jwksFile = join(dir, 'jwks.json');
  await writeFile(jwksFile, JSON.stringify(issuer.jwks));
  server = await startGatehouse({
    configYaml: [
      'identity:',
      '  jwt:',
      `    - issuer: "${idp}"`,
      '      kind: oidc',
      '      audiences: ["gatehouse"]',
      `      jwksFile: "${jwksFile}"`,
      'kubernetes:',
      '  enabled: true',
      `  kubeconfig: "${api.writeKubeconfig(dir)}"`,
      '  staleAfterSeconds: 30',
      '  failClosed: true',
      '',
    ].join('\n'),
  });
  client = new GatehouseClient(server.grpcTarget);
});

afterAll(async () => {
  client?.close();
  await cleanup();
  await api?.close();
});

const tickets = { service: 'tickets.support', host: 'tickets.support', path: '/tickets/7' };
const overMtls = async (person: string): Promise<RequestSpec> => ({ ...tickets, principal: assistant, token: await issuer.userToken(idp, person, ['staff']) });
const byAct = async (person: string): Promise<RequestSpec> => ({ ...tickets, token: await issuer.userToken(idp, person, ['staff'], {}, { act: { sub: assistant } }) });

async function decide(spec: RequestSpec): Promise<{ status: number; reason: string; detail: string; principal: string; actor: unknown; actorClass: unknown }> {
  const response = await client.check(checkRequest(spec));
  const line = await server.decision(headerValue(response, 'x-gatehouse-decision-id')!);
  return { status: statusCode(response), reason: line.reason, detail: line.detail, principal: line.principal, actor: line.actor, actorClass: line.actorClass };
}

/** Asks until the answer's status is `status`: watch events take a moment to reach the server. */
function until(status: number, spec: () => Promise<RequestSpec>): Promise<Awaited<ReturnType<typeof decide>>> {
  return waitFor(`status ${status}`, async () => {
    const decided = await decide(await spec());
    return decided.status === status ? decided : undefined;
  }, 5_000, 50);
}

test('a live actor presents people’s authority, with the class its service account annotates', async () => {
  expect(await until(0, () => overMtls('alice'))).toMatchObject({ principal: 'User::"alice"', actor: `Workload::"${assistant}"`, actorClass: 'agent' });
  expect(await decide(await byAct('bob'))).toMatchObject({ status: 0, principal: 'User::"bob"', actor: `Workload::"${assistant}"` });
});

test('its service account deleted: the requests it presents are refused for everyone, naming the actor', async () => {
  api.remove('serviceaccounts', 'agents', 'assistant');
  const refused = { status: 16, reason: 'credential_revoked', detail: 'actor: service account agents/assistant does not exist in the cluster', actor: `Workload::"${assistant}"` };
  expect(await until(16, () => overMtls('alice'))).toMatchObject({ ...refused, principal: 'User::"alice"' });
  expect(await decide(await overMtls('carol'))).toMatchObject({ ...refused, principal: 'User::"carol"' });
  expect(await decide(await byAct('bob'))).toMatchObject({ ...refused, principal: 'User::"bob"' });
});

test('the account created again: the refusal ends', async () => {
  api.put('serviceaccounts', serviceAccount('agents', 'assistant', 'sa-assistant-2', 'agent'));
  expect(await until(0, () => overMtls('alice'))).toMatchObject({ reason: '', actor: `Workload::"${assistant}"` });
  expect(await decide(await byAct('bob'))).toMatchObject({ status: 0 });
});
