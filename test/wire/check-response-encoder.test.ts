/**
 * The server's CheckResponse bytes come from a template per kind of answer with the decision id
 * written in. They must be exactly what protobufjs encodes for the same message, whatever the
 * message holds: every kind of decision, principals that contain (or are) a decision id, ids that
 * are not ULIDs, and answers that interleave.
 */
import type { Decision, Subject } from '../../src/core/decision.js';
import type { Identity } from '../../src/core/identity.js';
import { toCheckResponse, type ResponseOptions } from '../../src/core/respond.js';
import { newDecisionId } from '../../src/pipeline/decision-id.js';
import { CheckResponseEncoder } from '../../src/wire/check-response-encoder.js';
import { CheckResponseType } from '../../src/wire/protos.js';
import { someEvaluated } from '../support/evaluated.js';
import { spiffeId } from '../support/expect-ok.js';

const plainEncode = (message: { readonly [field: string]: unknown }): Uint8Array => CheckResponseType.encode(message).finish();
const subject: Subject = { action: 'GET', resource: 'orders.shop', resourceNamespace: 'shop', path: '/api/orders/42' };
const workload = (id: string, klass: 'service' | 'build' = 'service'): Identity => ({ kind: 'workload', spiffeId: spiffeId(id), class: klass, authn: 'mtls' });
const user = (name: string, actor?: string): Identity => ({
  kind: 'user',
  issuer: 'https://idp',
  subject: name,
  name,
  groups: [],
  ...(actor ? { delegation: { actor: { kind: 'workload', spiffeId: spiffeId(actor), class: 'agent', authn: 'mtls' }, actors: [actor], depth: 1 } } : {}),
});
const allow = (identity: Identity, policies: string[]): Decision => ({ kind: 'allow', identity, subject, policies, errors: [], version: 'v', evaluated: someEvaluated });
const deny = (status: 'forbidden' | 'unauthenticated', code: 'policy_denied' | 'token_expired' | 'bad_path', dryRun: boolean, identity?: Identity): Decision => ({
  kind: 'deny',
  status,
  code,
  reason: 'r',
  identity,
  subject,
  policies: ['forbid-delete'],
  errors: [],
  dryRun,
  version: 'v',
  evaluated: someEvaluated,
});

const options: readonly ResponseOptions[] = [
  { principalHeader: 'x-gatehouse-principal', decisionHeader: 'x-gatehouse-decision-id', removeCredentials: true },
  { principalHeader: 'x-user', decisionHeader: 'x-decision', removeCredentials: false },
];
const knownId = '01J9Z6X4QK3T7N2V5B8C0D1E2F';

/** Decisions whose responses differ in every field a template could get wrong. */
function decisions(): Decision[] {
  return [
    allow(workload('spiffe://cluster.local/ns/shop/sa/frontend'), ['allow-frontend', 'allow-reads']),
    allow(workload('spiffe://cluster.local/ns/shop/sa/frontend'), ['allow-frontend']),
    allow(workload('spiffe://cluster.local/ns/shop/sa/checkout'), ['allow-frontend', 'allow-reads']),
    allow(workload('spiffe://cluster.local/ns/ci/sa/builder', 'build'), []),
    allow(user('alice', 'spiffe://cluster.local/ns/ai/sa/agent'), ['allow-agent']),
    allow(user('alice'), ['allow-agent']),
    allow({ kind: 'anonymous' }, ['allow-public']),
    // A principal that holds a decision id, and one that is one: neither may be taken for the id.
    allow(user(`x${knownId}y`), ['p']),
    allow(user(knownId), ['p']),
    allow(user(`${knownId}${knownId}`), [knownId]),
    deny('forbidden', 'policy_denied', true, workload('spiffe://cluster.local/ns/shop/sa/frontend')),
    deny('forbidden', 'policy_denied', false, workload('spiffe://cluster.local/ns/shop/sa/frontend')),
    deny('forbidden', 'bad_path', false),
    deny('unauthenticated', 'token_expired', false),
    deny('unauthenticated', 'policy_denied', false, { kind: 'anonymous' }),
    { kind: 'unavailable', code: 'no_policy_set', reason: 'r', subject },
    { kind: 'unavailable', code: 'internal', reason: 'r', subject },
  ];
}

const ids = (): string[] => [
  ...Array.from({ length: 6 }, (_, i) => newDecisionId(1_700_000_000_000 + i * 7)),
  knownId,
  // Ids that share characters with their neighbours in the bytes, or are not ULIDs at all.
  '00000000000000000000000000',
  'ZZZZZZZZZZZZZZZZZZZZZZZZZZ',
  'not-a-ulid',
  '01J9Z6X4QK3T7N2V5B8C0D1E2', // 25 characters
  'é1J9Z6X4QK3T7N2V5B8C0D1E2F',
];

describe('CheckResponseEncoder', () => {
  test('gives protobufjs\'s bytes for every decision, option set, id and assertion, in any order', () => {
    const encoder = new CheckResponseEncoder(plainEncode);
    let compared = 0;
    for (let round = 0; round < 3; round++) {
      for (const decision of round === 1 ? decisions().reverse() : decisions()) {
        for (const opts of options) {
          for (const id of ids()) {
            for (const assertion of decision.kind === 'allow' ? [undefined, 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln'] : [undefined]) {
              const message = toCheckResponse(decision, id, opts, assertion) as unknown as Record<string, unknown>;
              expect(Buffer.from(encoder.encodeResponse(message))).toEqual(Buffer.from(plainEncode(message)));
              compared += 1;
            }
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });

  test('encodes a kind of answer twice, tries its template once, then no more; an id that is not a ULID each time', () => {
    let encoded = 0;
    const encoder = new CheckResponseEncoder((message) => {
      encoded += 1;
      return plainEncode(message);
    });
    const decision = allow(workload('spiffe://cluster.local/ns/shop/sa/frontend'), ['allow-frontend']);
    for (let i = 0; i < 50; i++) encoder.encodeResponse(toCheckResponse(decision, newDecisionId(1_700_000_000_000 + i), options[0]!) as unknown as Record<string, unknown>);
    expect(encoded).toBe(3);
    for (let i = 0; i < 3; i++) encoder.encodeResponse(toCheckResponse(decision, `request-${i}`, options[0]!) as unknown as Record<string, unknown>);
    expect(encoded).toBe(6);
  });

  test('a kind of answer seen once costs one encoding: cache-miss traffic makes no templates', () => {
    let encoded = 0;
    const encoder = new CheckResponseEncoder((message) => {
      encoded += 1;
      return plainEncode(message);
    });
    for (let i = 0; i < 100; i++) encoder.encodeResponse(toCheckResponse(allow(user(`user-${i}`), ['p']), newDecisionId(1_700_000_000_000 + i), options[0]!) as unknown as Record<string, unknown>);
    expect(encoded).toBe(100);
  });

  const metadata = (id: string, more: Record<string, unknown> = {}) => ({ fields: { decisionId: { string_value: id }, ...more } });
  const adversarial: readonly { name: string; message: (id: string) => Record<string, unknown> }[] = [
    { name: 'the id also in a field name', message: (id) => ({ status: { code: 0, message: '' }, dynamic_metadata: metadata(id, { [knownId]: { string_value: 'v' } }) }) },
    { name: 'the id in a field name, balanced by an id in a bool field', message: (id) => ({ status: { code: 0, message: '' }, dynamic_metadata: metadata(id, { [knownId]: { string_value: 'v' }, x: { bool_value: id } }) }) },
    { name: 'the id in a bool field', message: (id) => ({ status: { code: 0, message: '' }, dynamic_metadata: metadata(id, { x: { bool_value: id } }) }) },
    { name: 'the id in a number field', message: (id) => ({ status: { code: id as unknown as number, message: '' }, dynamic_metadata: metadata(id) }) },
    { name: 'the id followed by a character that overlaps it', message: (id) => ({ status: { code: 0, message: `${id}0` }, dynamic_metadata: metadata(id) }) },
    { name: 'an inherited field', message: (id) => Object.assign(Object.create({ status: { code: 7, message: 'x' } }) as Record<string, unknown>, { dynamic_metadata: metadata(id) }) },
    { name: 'a non-enumerable own field', message: (id) => Object.defineProperty({ dynamic_metadata: metadata(id) }, 'status', { value: { code: 7, message: 'x' }, enumerable: false }) },
    { name: 'a protobufjs message object', message: (id) => CheckResponseType.fromObject({ status: { code: 0 }, dynamic_metadata: metadata(id) }) as unknown as Record<string, unknown> },
    { name: 'bytes as a Uint8Array', message: (id) => ({ status: { code: 0, message: '' }, dynamic_metadata: metadata(id), ok_response: { headers: [{ header: { key: 'k', raw_value: new Uint8Array([65, 66]) } }] } }) },
  ];

  test.each(adversarial)('$name: protobufjs\'s bytes, every time', ({ message }) => {
    const encoder = new CheckResponseEncoder(plainEncode);
    for (const id of [knownId, '00000000000000000000000000', newDecisionId(1_700_000_000_000), knownId, newDecisionId(1_700_000_000_001), '11111111111111111111111111']) {
      expect(Buffer.from(encoder.encodeResponse(message(id)))).toEqual(Buffer.from(plainEncode(message(id))));
    }
  });

  test('a response with a very long key (a principal of 200,000 characters) is encoded each time', () => {
    let encoded = 0;
    const encoder = new CheckResponseEncoder((message) => {
      encoded += 1;
      return plainEncode(message);
    });
    const huge = allow(user('u'.repeat(200_000)), ['p']);
    for (let i = 0; i < 5; i++) encoder.encodeResponse(toCheckResponse(huge, newDecisionId(1_700_000_000_000 + i), options[0]!) as unknown as Record<string, unknown>);
    expect(encoded).toBe(5);
  });
});
