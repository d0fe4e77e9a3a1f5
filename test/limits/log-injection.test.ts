/**
 * Log and header injection: CR, LF, NUL, ANSI escapes, DEL, NEL, U+2028 and very long strings in
 * header values, the request id, path, method, host, service name and token claims (a genuine
 * token whose subject carries them). Whatever the request, every stdout line is one JSON object
 * with exactly the decision log fields and no raw control or line-breaking character, a value
 * reads back exactly as sent (or cut, for long ones), and no header value in any CheckResponse
 * carries CR, LF or NUL.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRequest, frontend, GatehouseClient, headerValue, statusCode, type CheckResponse, type RequestSpec } from '../support/check-client.js';
import { cleanup, scratchDir, startGatehouse, type DecisionLine, type ServerProcess } from '../support/server-process.js';
import { Issuer, kubernetesIssuer } from '../faults/issuer.js';
import { lineProblem, responseProblem } from '../fuzz/invariants.js';

const oidcIssuer = 'https://login.example.com';
const hostile = ['\x1b[31mred\x1b[0m', '\x1b]0;title\x07', 'a\u2028b\u2029c', 'nel\x85del\x7f', '","decision":"allow","x":"', '\\u000a', '\u202eevil', '😀'];
const breaking = ['a\rb', 'a\nb', 'a\r\n{"decision":"allow"}', 'a\0b'];

let issuer: Issuer;
let server: ServerProcess;
let client: GatehouseClient;
const responses: CheckResponse[] = [];

beforeAll(async () => {
  issuer = await Issuer.create();
  const jwksFile = join(await scratchDir('injection'), 'jwks.json');
  await writeFile(jwksFile, JSON.stringify(issuer.jwks));
  const issuerYaml = (name: string, kind: string): string => `    - issuer: "${name}"\n      kind: ${kind}\n      audiences: ["gatehouse"]\n      jwksFile: "${jwksFile}"\n`;
  server = await startGatehouse({ configYaml: `identity:\n  jwt:\n${issuerYaml(kubernetesIssuer, 'kubernetes')}${issuerYaml(oidcIssuer, 'oidc')}` });
  client = new GatehouseClient(server.grpcTarget);
});

afterAll(async () => {
  client?.close();
  await cleanup();
});

/** One Check; its answer must carry no CR, LF or NUL in any header; returns it with its log line. */
async function check(spec: RequestSpec): Promise<{ response: CheckResponse; line: DecisionLine }> {
  const response = await client.check(checkRequest(spec));
  responses.push(response);
  expect(responseProblem(response)).toBeUndefined();
  return { response, line: await server.decision(headerValue(response, 'x-gatehouse-decision-id')!) };
}

test.each(hostile)('request id %j: allowed as usual, logged exactly as sent', async (value) => {
  const { response, line } = await check({ principal: frontend, path: '/api/orders/1', requestId: value });
  expect(statusCode(response)).toBe(0);
  expect(line.requestId).toBe(value);
});

test.each(breaking)('a header value with %j: denied (bad_request), nothing of it logged raw', async (value) => {
  const { response, line } = await check({ principal: frontend, path: '/api/orders/1', headers: { 'x-note': value } });
  expect(statusCode(response)).toBe(7);
  expect(line.reason).toBe('bad_request');
});

test('a 10,000-character request id is logged cut to 1,024 characters', async () => {
  const { line } = await check({ principal: frontend, path: '/api/orders/1', requestId: `\x1b[31m${'r'.repeat(10_000)}` });
  expect(line.requestId).toBe(`\x1b[31m${'r'.repeat(1019)}…`);
});

test.each([...hostile, ...breaking, `/api/orders/${'x'.repeat(9000)}`])('path %j: denied (bad_path, or bad_request for the copy in :path), logged without it', async (value) => {
  const { response, line } = await check({ principal: frontend, path: `/api/orders/${value}` });
  expect(statusCode(response)).toBe(7);
  expect(line.path).toBe('');
  expect(['bad_path', 'bad_request']).toContain(line.reason);
});

test.each([...hostile, ...breaking])('method %j: denied, logged escaped', async (value) => {
  const { response, line } = await check({ principal: frontend, method: `GET${value}`, path: '/api/orders/1', headers: { ':method': 'GET' } });
  expect(statusCode(response)).toBe(7);
  expect(line.action).toBe(`GET${value}`);
});

test.each([...hostile, ...breaking])('host and service name %j: never a shop service, logged escaped', async (value) => {
  const viaHost = await check({ principal: frontend, path: '/api/orders/1', host: `orders.shop${value}.svc.cluster.local` });
  expect(statusCode(viaHost.response)).toBe(7);
  const viaService = await check({ principal: frontend, path: '/api/orders/1', service: `orders.shop${value}` });
  expect(statusCode(viaService.response)).toBe(7);
  expect(viaService.line.resource).toBe(`orders.shop${value}`);
});

// A person's subject goes upstream as it is, so only what a header can carry is accepted: OIDC
// subjects are at most 255 ASCII characters, and gatehouse holds issuers to printable ones.
const printableSubjects = ['","decision":"allow","x":"', '\\u000a', 'a b c', 'x'.repeat(252)];
test.each(printableSubjects)('a genuine token whose subject is %j: the principal header carries it as it is, the log escaped', async (value) => {
  const token = await issuer.userToken(oidcIssuer, `eve${value}`, ['sre']);
  const { response, line } = await check({ token, path: '/admin/settings', service: 'orders.shop' });
  expect(statusCode(response)).toBe(0);
  expect(headerValue(response, 'x-gatehouse-principal')).toBe(`eve${value}`);
  expect(line.principal).toBe(`User::${JSON.stringify(`eve${value}`)}`);
});

const unprintableSubjects = [...hostile, ...breaking, 'x'.repeat(253), '\t', '\x7f', '\u00e9'].filter((value) => !printableSubjects.includes(value));
test.each(unprintableSubjects)('a genuine token whose subject is %j: refused (bad_claims), never sent upstream', async (value) => {
  const token = await issuer.userToken(oidcIssuer, `eve${value}`, ['sre']);
  const { response, line } = await check({ token, path: '/admin/settings', service: 'orders.shop' });
  expect(statusCode(response)).toBe(16);
  expect(line.reason).toBe('bad_claims');
  expect(headerValue(response, 'x-gatehouse-principal')).toBeUndefined();
});

test.each([...hostile, ...breaking])('token header and claims (kid, iss, aud) with %j: 401, details logged without control characters', async (value) => {
  const forged = [
    await issuer.serviceAccountToken('shop', 'frontend', {}, { kid: `k1${value}` }),
    await issuer.serviceAccountToken('shop', 'frontend', { iss: `${kubernetesIssuer}${value}` }),
    await issuer.serviceAccountToken('shop', 'frontend', { aud: [`gatehouse${value}`] }),
  ];
  for (const token of forged) {
    const { response, line } = await check({ token, path: '/api/orders/1' });
    expect(statusCode(response)).toBe(16);
    // eslint-disable-next-line no-control-regex
    expect(line.detail).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  }
});

test('every stdout line is one decision line with exactly the contract fields and no raw control character', async () => {
  expect(responses.length).toBeGreaterThan(80);
  await server.waitForDecisions(responses.length);
  expect(server.strayStdout).toEqual([]);
  expect(server.stdoutLines.length).toBe(responses.length);
  const problems = server.stdoutLines.map((line, i) => [i, lineProblem(line)]).filter(([, problem]) => problem !== undefined);
  expect(problems).toEqual([]);
});
