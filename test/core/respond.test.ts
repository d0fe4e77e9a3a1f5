import type { Decision, ReasonCode, Subject } from '../../src/core/decision.js';
import { answerShape, toCheckResponse } from '../../src/core/respond.js';
import { someEvaluated } from '../support/evaluated.js';
import { spiffeId } from '../support/expect-ok.js';

const options = { principalHeader: 'x-gatehouse-principal', decisionHeader: 'x-gatehouse-decision-id', removeCredentials: true };
const subject: Subject = { action: 'GET', resource: 'orders.shop', resourceNamespace: 'shop', path: '/api' };
const identity = { kind: 'workload', spiffeId: spiffeId('spiffe://cluster.local/ns/shop/sa/frontend'), class: 'service', authn: 'mtls' } as const;
// protobufjs's form, enums by number: 2 is OVERWRITE_IF_EXISTS_OR_ADD (test/wire/server-codec.test.ts checks the names on the wire).
const overwrite = (key: string, value: string) => ({ header: { key, value }, append_action: 2 });

describe('toCheckResponse', () => {
  test('allow overwrites identity headers and strips credentials and spoofable headers', () => {
    const decision: Decision = { kind: 'allow', identity, subject, policies: ['p1'], errors: [], version: 'v', evaluated: someEvaluated };
    const response = toCheckResponse(decision, 'D1', options);
    expect(response.status.code).toBe(0);
    expect(response.ok_response).toEqual({
      headers: [overwrite('x-gatehouse-decision-id', 'D1'), overwrite('x-gatehouse-principal', 'spiffe://cluster.local/ns/shop/sa/frontend')],
      headers_to_remove: ['x-gatehouse-actor', 'x-gatehouse-dry-run', 'x-gatehouse-assertion', 'authorization'],
      response_headers_to_add: [overwrite('x-gatehouse-decision-id', 'D1')],
    });
    expect(response.dynamic_metadata?.fields.policies).toEqual({ list_value: { values: [{ string_value: 'p1' }] } });
  });

  test('a policy deny is a 403 whose body names the decision and no policy', () => {
    const decision: Decision = { kind: 'deny', status: 'forbidden', code: 'policy_denied', reason: 'r', identity, subject, policies: ['secret-forbid'], errors: [], dryRun: false, version: 'v', evaluated: someEvaluated };
    const response = toCheckResponse(decision, 'D2', options);
    expect(response.status.code).toBe(7);
    expect(response.denied_response?.status.code).toBe(403);
    expect(JSON.parse(response.denied_response?.body ?? '')).toEqual({ decision: 'deny', decisionId: 'D2' });
    expect(JSON.stringify(response)).not.toContain('secret-forbid');
  });

  test('an invalid credential is a 401 with an invalid_token challenge', () => {
    const decision: Decision = { kind: 'deny', status: 'unauthenticated', code: 'token_expired', reason: 'r', identity: undefined, subject, policies: [], errors: [], dryRun: false, version: 'v', evaluated: someEvaluated };
    const response = toCheckResponse(decision, 'D3', options);
    expect(response.status.code).toBe(16);
    expect(response.denied_response?.status.code).toBe(401);
    expect(response.denied_response?.headers).toContainEqual(overwrite('www-authenticate', 'Bearer realm="gatehouse", error="invalid_token"'));
  });

  test('a dry-run deny goes upstream marked', () => {
    const decision: Decision = { kind: 'deny', status: 'forbidden', code: 'policy_denied', reason: 'r', identity, subject, policies: [], errors: [], dryRun: true, version: 'v', evaluated: someEvaluated };
    const response = toCheckResponse(decision, 'D4', options);
    expect(response.status.code).toBe(0);
    expect(response.ok_response?.headers).toContainEqual(overwrite('x-gatehouse-dry-run', 'deny'));
  });

  const upstreamNames = [
    { name: 'a workload as its SPIFFE ID', identity, header: 'spiffe://cluster.local/ns/shop/sa/frontend' },
    { name: 'a person as the subject', identity: { kind: 'user', issuer: 'https://idp', subject: 'alice', name: 'alice', groups: [] } as const, header: 'alice' },
    // Issue #14: the prefixed name, so that a partner's alice is not the company's upstream either.
    { name: 'a person by their prefixed name', identity: { kind: 'user', issuer: 'https://idp', subject: 'alice', name: 'partner:alice', groups: [] } as const, header: 'partner:alice' },
    { name: 'anonymous not at all', identity: { kind: 'anonymous' } as const, header: undefined },
  ];
  test.each(upstreamNames)('upstreams know $name', ({ identity: who, header }) => {
    const response = toCheckResponse({ kind: 'allow', identity: who, subject, policies: [], errors: [], version: 'v', evaluated: someEvaluated }, 'D6', options);
    const sent = response.ok_response?.headers.find((option) => option.header.key === 'x-gatehouse-principal');
    expect(sent?.header.value).toBe(header);
    expect(response.ok_response?.headers_to_remove.includes('x-gatehouse-principal')).toBe(header === undefined);
  });

  const deny = (status: 'forbidden' | 'unauthenticated', code: ReasonCode, dryRun = false): Decision =>
    ({ kind: 'deny', status, code, reason: 'r', identity: undefined, subject, policies: [], errors: [], dryRun, version: 'v', evaluated: someEvaluated });
  const metadata = [
    { name: 'allow', decision: { kind: 'allow', identity, subject, policies: [], errors: [], version: 'v', evaluated: someEvaluated } as Decision, code: undefined },
    { name: 'policy deny', decision: deny('forbidden', 'policy_denied'), code: 'policy_denied' },
    { name: 'refused request', decision: deny('forbidden', 'bad_path'), code: 'bad_path' },
    { name: 'refused credential', decision: deny('unauthenticated', 'token_expired'), code: 'token_expired' },
    { name: 'dry-run deny', decision: deny('forbidden', 'policy_denied', true), code: 'policy_denied' },
    { name: 'unavailable', decision: { kind: 'unavailable', code: 'no_policy_set', reason: 'r', subject } as Decision, code: 'no_policy_set' },
  ];
  test.each(metadata)('$name: dynamic_metadata has the decision id and the reason code of a deny', ({ decision, code }) => {
    const fields = toCheckResponse(decision, 'D7', options).dynamic_metadata?.fields;
    expect(fields?.decisionId).toEqual({ string_value: 'D7' });
    expect(fields?.code).toEqual(code === undefined ? undefined : { string_value: code });
  });

  test.each(metadata)('$name: an HTTP wire gets the same answer without the gRPC-only parts', ({ decision }) => {
    const grpc = toCheckResponse(decision, 'D9', options);
    const http = toCheckResponse(decision, 'D9', options, undefined, 'http');
    expect(http.dynamic_metadata).toBeUndefined();
    expect(Object.getOwnPropertySymbols(http)).not.toContain(answerShape);
    if (decision.kind === 'allow') expect(Object.getOwnPropertySymbols(grpc)).toContain(answerShape);
    const { dynamic_metadata: _metadata, ...answer } = grpc;
    expect(http).toEqual(answer);
  });

  test('only a policy deny says "denied by policy"', () => {
    expect(toCheckResponse(deny('forbidden', 'policy_denied'), 'D8', options).status.message).toBe('denied by policy');
    expect(toCheckResponse(deny('forbidden', 'bad_path'), 'D8', options).status.message).not.toContain('policy');
  });

  test('unavailable is an error_response with UNAVAILABLE', () => {
    const response = toCheckResponse({ kind: 'unavailable', code: 'no_policy_set', reason: 'r', subject }, 'D5', options);
    expect(response.status.code).toBe(14);
    expect(response.error_response?.status.code).toBe(503);
    expect(response.ok_response).toBeUndefined();
  });
});

describe('toCheckResponse: who acts for whom', () => {
  const builderId = 'spiffe://cluster.local/ns/ci/sa/builder';
  const builder = { kind: 'workload', spiffeId: spiffeId(builderId), class: 'build', authn: 'mtls' } as const;
  const allow = (who: Extract<Decision, { kind: 'allow' }>['identity']): Decision => ({
    kind: 'allow',
    identity: who,
    subject,
    policies: ['p'],
    errors: [],
    version: 'v',
    dryRun: false,
    evaluated: someEvaluated,
  });
  const alice = { kind: 'user', issuer: 'idp', subject: 'alice', name: 'alice', groups: [] } as const;

  test('x-gatehouse-actor carries the acting workload', () => {
    const response = toCheckResponse(allow({ ...alice, delegation: { actor: builder, actors: [builderId], depth: 1 } }), 'id', options);
    expect(response.ok_response?.headers).toContainEqual(overwrite('x-gatehouse-actor', builderId));
    expect(response.ok_response?.headers_to_remove).not.toContain('x-gatehouse-actor');
  });

  test.each([
    ['nobody acts', alice],
    ['the chain names no workload', { ...alice, delegation: { actors: ['ci-bot'], depth: 1 } }],
  ])('x-gatehouse-actor is removed when %s, so a client copy never survives', (_name, who) => {
    const response = toCheckResponse(allow(who), 'id', options);
    expect(response.ok_response?.headers.map((h) => h.header.key)).not.toContain('x-gatehouse-actor');
    expect(response.ok_response?.headers_to_remove).toContain('x-gatehouse-actor');
  });
});
