/**
 * The server writes an allow like one it answered before as a copy of that answer's bytes with
 * its own decision id (src/wire/response-template.ts). Every byte must be what protobufjs (and
 * proto-loader, the reference clients use) would have encoded for that response, whatever the
 * identities, actors, policies, options and ids, and whatever a caller's name spells.
 */
import type { Decision, Subject } from '../../src/core/decision.js';
import type { Identity } from '../../src/core/identity.js';
import { toCheckResponse, type ResponseOptions } from '../../src/core/respond.js';
import { newDecisionId } from '../../src/pipeline/decision-id.js';
import { authorizationServerService, authorizationService, CheckResponseType } from '../../src/wire/protos.js';
import { ResponseEncoder } from '../../src/wire/response-template.js';
import { someEvaluated } from '../support/evaluated.js';
import { spiffeId } from '../support/expect-ok.js';

const server = authorizationServerService['Check']!;
const reference = authorizationService['Check']!;
const subject: Subject = { action: 'GET', resource: 'orders.shop', resourceNamespace: 'shop', path: '/api/orders/42' };

function workload(id: string, klass: 'service' | 'build' | 'agent' = 'service'): Identity {
  return { kind: 'workload', spiffeId: spiffeId(id), class: klass, authn: 'mtls' };
}
function person(name: string, actor?: string): Identity {
  const acting = actor === undefined ? undefined : { kind: 'workload', spiffeId: spiffeId(actor), class: 'agent', authn: 'mtls' } as const;
  return { kind: 'user', issuer: 'https://idp', subject: name, name, groups: [], ...(acting && { delegation: { actor: acting, actors: [actor!], depth: 1 } }) };
}
const allow = (identity: Identity, policies: readonly string[]): Decision => ({ kind: 'allow', identity, subject, policies, errors: [], version: 'v', evaluated: someEvaluated });

/** The bytes the server sends, checked against protobufjs's own encoding and proto-loader's of the same response. */
function sent(decision: Decision, id: string, options: ResponseOptions, assertion?: string): Buffer {
  const response = toCheckResponse(decision, id, options, assertion);
  const bytes: Buffer = server.responseSerialize(response);
  expect(Buffer.from(bytes)).toEqual(Buffer.from(reference.responseSerialize(response)));
  return bytes;
}

const optionSets: ResponseOptions[] = [
  { principalHeader: 'x-gatehouse-principal', decisionHeader: 'x-gatehouse-decision-id', removeCredentials: false },
  { principalHeader: 'x-user', decisionHeader: 'x-decision', removeCredentials: true },
];

/** A small deterministic generator, so a failure names its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

test('generated allows, each answer shape many times, encode as protobufjs does', () => {
  const next = random(7);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const identities: Identity[] = [
    workload('spiffe://cluster.local/ns/shop/sa/frontend'),
    workload('spiffe://cluster.local/ns/ci/sa/builder', 'build'),
    workload(`spiffe://partner.example/ns/${'n'.repeat(60)}/sa/${'s'.repeat(120)}`, 'agent'),
    person('alice'),
    person('bob', 'spiffe://cluster.local/ns/agents/sa/helper'),
    { kind: 'anonymous' },
  ];
  // The same arrays again and again, as decision-cache entries hand them out.
  const policySets: (readonly string[])[] = [[], ['allow-frontend'], ['allow-a', 'allow-b', 'allow-c'], Array.from({ length: 40 }, (_, i) => `p${i}`)];
  let day = 1_760_000_000_000;
  for (let i = 0; i < 4000; i++) {
    // Ids as the pipeline makes them, several to a millisecond (sharing the time part) and across milliseconds.
    if (next() < 0.3) day += Math.floor(next() * 5000);
    sent(allow(pick(identities), pick(policySets)), newDecisionId(day), pick(optionSets));
  }
});

test('each answer carries its own decision id, in every place it goes', () => {
  const decision = allow(workload('spiffe://cluster.local/ns/shop/sa/frontend'), ['allow-frontend']);
  const ids = Array.from({ length: 5 }, (_, i) => newDecisionId(1_760_000_000_000 + i));
  for (const id of ids) {
    const decoded = reference.responseDeserialize(sent(decision, id, optionSets[0]!)) as {
      ok_response: { headers: { header: { key: string; value: string } }[]; response_headers_to_add: { header: { value: string } }[] };
      dynamic_metadata: { fields: { decisionId: { string_value: string } } };
    };
    expect(decoded.ok_response.headers.find((h) => h.header.key === 'x-gatehouse-decision-id')?.header.value).toBe(id);
    expect(decoded.ok_response.response_headers_to_add[0]?.header.value).toBe(id);
    expect(decoded.dynamic_metadata.fields.decisionId.string_value).toBe(id);
  }
});

test('a caller whose name spells the first decision id keeps its name in every later answer', () => {
  const first = newDecisionId(1_760_000_000_000);
  // A person named exactly like the id the shape's first answer carries, and one whose name contains it.
  for (const name of [first, `x${first}y`]) {
    const decision = allow(person(name), ['allow-people', name]);
    sent(decision, first, optionSets[0]!);
    for (let i = 1; i <= 5; i++) {
      const id = newDecisionId(1_760_000_000_000 + i);
      const decoded = reference.responseDeserialize(sent(decision, id, optionSets[0]!)) as { ok_response: { headers: { header: { key: string; value: string } }[] } };
      expect(decoded.ok_response.headers.find((h) => h.header.key === 'x-gatehouse-principal')?.header.value).toBe(name);
    }
  }
});

test('ids of another length or not ASCII, denies, dry runs and assertions are encoded as they are', () => {
  const decision = allow(workload('spiffe://cluster.local/ns/shop/sa/frontend'), ['allow-frontend']);
  for (let i = 0; i < 3; i++) sent(decision, newDecisionId(1_760_000_000_000 + i), optionSets[0]!);
  for (const id of ['short', 'X'.repeat(40), 'é'.repeat(26), `${'A'.repeat(25)}\n`, '']) sent(decision, id, optionSets[0]!);
  const deny: Extract<Decision, { kind: 'deny' }> = { kind: 'deny', status: 'forbidden', code: 'policy_denied', reason: 'r', identity: undefined, subject, policies: ['f'], errors: [], dryRun: false, version: 'v', evaluated: someEvaluated };
  const dryRun: Decision = { ...deny, dryRun: true, identity: workload('spiffe://cluster.local/ns/shop/sa/frontend') };
  for (let i = 0; i < 3; i++) {
    sent(deny, newDecisionId(1_760_000_000_000 + i), optionSets[0]!);
    sent(dryRun, newDecisionId(1_760_000_000_000 + i), optionSets[1]!);
    sent(decision, newDecisionId(1_760_000_000_000 + i), optionSets[0]!, `eyJ.${'a'.repeat(i * 7)}.sig`);
  }
});

test('many callers sharing one decision each get their own answer', () => {
  const policies = ['allow-namespace'];
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 100; i++) sent(allow(workload(`spiffe://cluster.local/ns/shop/sa/w${i}`), policies), newDecisionId(1_760_000_000_000 + round * 100 + i), optionSets[round % 2]!);
  }
});

test('after two answers of a shape, the rest are copies: protobufjs encodes no more of them', () => {
  let encoded = 0;
  const counting = Object.create(CheckResponseType, {
    encode: { value: (message: object) => ((encoded += 1), CheckResponseType.encode(message)) },
  }) as typeof CheckResponseType;
  const encoder = new ResponseEncoder(counting);
  const decision = allow(workload('spiffe://cluster.local/ns/shop/sa/frontend'), ['allow-frontend']);
  for (let i = 0; i < 50; i++) {
    const response = toCheckResponse(decision, newDecisionId(1_760_000_000_000 + i), optionSets[0]!);
    expect(Buffer.from(encoder.encode(response))).toEqual(Buffer.from(CheckResponseType.encode(response).finish()));
  }
  expect(encoded).toBe(2);
});
