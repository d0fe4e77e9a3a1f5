/**
 * decisionLine spells a record field by field; it must be the very text JSON.stringify made of it
 * before (with DEL, C1 controls and U+2028/U+2029 escaped), whatever the values: every UTF-16
 * code unit in every string field, lone and paired surrogates, a value cut inside a pair, every
 * optional field present and absent, numbers JSON cannot spell.
 */
import { decisionLine } from '../../src/log/decision-line.js';
import { toDecisionRecord, type DecisionRecord } from '../../src/log/decision-record.js';
import { lineProblem, rawLineBreakers, referenceLine, unknownKeys } from '../fuzz/invariants.js';
import { hostileCharacters, Random, randomText } from '../fuzz/random.js';
import { spiffeId } from '../support/expect-ok.js';

const allow: DecisionRecord = {
  time: '2027-01-15T08:00:00.000Z',
  decisionId: '01JHRZ5G7Q0000000000000000',
  requestId: 'c0ffee00-0000-4000-8000-000000000042',
  principal: 'Workload::"spiffe://cluster.local/ns/shop/sa/frontend"',
  class: 'service',
  authn: 'mtls',
  action: 'GET',
  resource: 'orders.shop',
  path: '/api/orders/42',
  decision: 'allow',
  policies: ['frontend-reads-orders'],
  errors: [],
  mode: 'enforce',
  durationMs: 0.213,
  reason: '',
  detail: '',
  policyVersion: 'ef2e5bb1157a',
  wire: 'grpc',
};

/** Each value in every string the record holds, lists and nested objects included. */
function everywhere(value: string, base: DecisionRecord = allow): DecisionRecord {
  return {
    ...base,
    time: value,
    decisionId: value,
    requestId: value,
    principal: `User::${JSON.stringify(value)}`,
    actor: value,
    actorClass: 'agent',
    delegation: { depth: 2, actors: [value, `x${value}y`] },
    action: value,
    resource: value,
    path: value,
    policies: [value, 'p2'],
    errors: [
      { policy: value, message: value },
      { policy: 'p2', message: `${value}${value}` },
    ],
    detail: value,
    policyVersion: value,
    traceId: value,
    spanId: value,
  };
}

function expectSpelledAsBefore(record: DecisionRecord): void {
  expect(unknownKeys(record)).toEqual([]);
  const line = decisionLine(record);
  expect(line).toBe(referenceLine(record));
  expect(line).not.toMatch(rawLineBreakers);
  expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify(record)));
}

test.each([
  ['an allow of a workload', allow],
  ['a deny of a person with the actor acting for them', { ...allow, principal: 'User::"idp|eve"', class: undefined, authn: 'jwt', actor: 'Workload::"spiffe://cluster.local/ns/ci/sa/agent"', actorClass: 'agent', delegation: { depth: 1, actors: ['spiffe://cluster.local/ns/ci/sa/agent'] }, decision: 'deny', policies: ['no-agents'], reason: 'policy_denied', detail: 'no-agents' }],
  ['a delegation chain without an actor', { ...allow, delegation: { depth: 2, actors: ['a', 'b'] } }],
  ['policy errors, dry-run', { ...allow, decision: 'deny', mode: 'dry-run', policies: [], errors: [{ policy: 'p1', message: 'attribute `x` not found' }, { policy: 'p2', message: '' }], reason: 'policy_denied', detail: 'x' }],
  ['an error before identity, offline (no wire)', { ...allow, principal: '', class: undefined, authn: 'none', decision: 'error', policies: [], reason: 'no_policy_set', detail: 'no policy set', policyVersion: '', wire: undefined }],
  ['trace ids', { ...allow, traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' }],
  ['a time JSON cannot spell (NaN, then infinity)', { ...allow, durationMs: Number.NaN, delegation: { depth: Number.POSITIVE_INFINITY, actors: [] } }],
  ['negative zero, one error', { ...allow, durationMs: -0, errors: [{ policy: 'p', message: 'm' }] }],
  ['a duration JSON spells with an exponent', { ...allow, durationMs: 1e21 }],
  ['every hostile character of the fuzzers', everywhere(hostileCharacters.join(''))],
  ['a quote and a backslash only', everywhere('say "\\u000a"')],
  ['a pair of surrogates (an emoji) and a lone one on each side', everywhere('\udfff😀\ud800')],
] as [string, DecisionRecord][])('%s: the same text as JSON.stringify', (_name, record) => {
  expectSpelledAsBefore(record);
});

test('every UTF-16 code unit, in every string field: the same text as JSON.stringify, no raw control or line break', () => {
  const mismatched: string[] = [];
  for (let unit = 0; unit <= 0xffff; unit++) {
    const record = everywhere(`a${String.fromCharCode(unit)}b`);
    const line = decisionLine(record);
    if (line !== referenceLine(record) || rawLineBreakers.test(line)) mismatched.push(unit.toString(16));
  }
  expect(mismatched).toEqual([]);
});

test('2,000 records of random text (fuzz characters, controls, any code point): the same text as JSON.stringify', () => {
  const random = new Random(16);
  for (let i = 0; i < 2000; i++) expectSpelledAsBefore(everywhere(randomText(random, 40)));
});

test('a request id cut inside a surrogate pair: the lone half is escaped, the line stays well formed', () => {
  const record = toDecisionRecord(
    { kind: 'unavailable', code: 'internal', reason: 'x', subject: { action: 'GET', resource: 'orders.shop', resourceNamespace: 'shop', path: '/' } },
    undefined,
    { time: new Date(0), decisionId: 'd', requestId: `${'r'.repeat(1023)}😀`, durationMs: 1, wire: 'grpc' },
  );
  const line = decisionLine(record);
  expect(line).toContain(`"${'r'.repeat(1023)}\\ud83d…"`);
  expect(line).toBe(referenceLine(record));
  expect(lineProblem(line)).toBeUndefined();
});

test('records as toDecisionRecord makes them', () => {
  const frontend = { kind: 'workload', spiffeId: spiffeId('spiffe://cluster.local/ns/shop/sa/frontend'), class: 'service', authn: 'mtls' } as const;
  const subject = { action: 'GET', resource: 'orders.shop', resourceNamespace: 'shop', path: '/api/orders/1' };
  const meta = { time: new Date(Date.UTC(2027, 0, 15, 8)), decisionId: 'd-1', requestId: 'r-1', durationMs: 0.2125, wire: 'forward-auth' as const, trace: { traceId: 't', spanId: 's', sampled: true } };
  const allowed = toDecisionRecord({ kind: 'allow', identity: frontend, subject, policies: ['p'], errors: [], version: 'v', evaluated: {} as never }, { ok: true, identity: frontend }, meta);
  const refused = toDecisionRecord(
    { kind: 'deny', status: 'unauthenticated', code: 'signature_invalid', reason: 'signature', identity: undefined, subject, policies: [], errors: [], dryRun: false, version: 'v' },
    { ok: false, code: 'signature_invalid', detail: 'signature', authn: 'jwt' },
    { ...meta, wire: undefined, trace: undefined },
  );
  expect(decisionLine(allowed)).toBe(
    '{"time":"2027-01-15T08:00:00.000Z","decisionId":"d-1","requestId":"r-1","principal":"Workload::\\"spiffe://cluster.local/ns/shop/sa/frontend\\"","class":"service","authn":"mtls","action":"GET","resource":"orders.shop","path":"/api/orders/1","decision":"allow","policies":["p"],"errors":[],"mode":"enforce","durationMs":0.213,"reason":"","detail":"","policyVersion":"v","wire":"forward-auth","traceId":"t","spanId":"s"}',
  );
  expect(decisionLine(refused)).toBe(
    '{"time":"2027-01-15T08:00:00.000Z","decisionId":"d-1","requestId":"r-1","principal":"","authn":"jwt","action":"GET","resource":"orders.shop","path":"/api/orders/1","decision":"deny","policies":[],"errors":[],"mode":"enforce","durationMs":0.213,"reason":"signature_invalid","detail":"signature","policyVersion":"v"}',
  );
  for (const record of [allowed, refused]) expectSpelledAsBefore(record);
});

test('the time of a Check is its own, also when the one before came in another millisecond', () => {
  const subject = { action: 'GET', resource: 'orders.shop', resourceNamespace: 'shop', path: '/' };
  const at = (ms: number): string =>
    toDecisionRecord({ kind: 'unavailable', code: 'internal', reason: 'x', subject }, undefined, { time: new Date(ms), decisionId: 'd', requestId: '', durationMs: 0 }).time;
  expect([at(0), at(0), at(1), at(0), at(1_800_000_000_123)]).toEqual([
    '1970-01-01T00:00:00.000Z',
    '1970-01-01T00:00:00.000Z',
    '1970-01-01T00:00:00.001Z',
    '1970-01-01T00:00:00.000Z',
    '2027-01-15T08:00:00.123Z',
  ]);
});

test('a line is spelled the same whatever line came before it (every field of the parts a line reuses, changed alone)', () => {
  const policies = ['frontend-reads-orders'];
  const base: DecisionRecord = { ...allow, policies };
  const variants: DecisionRecord[] = [
    base,
    { ...base },
    { ...base, policies: ['frontend-reads-orders'] },
    { ...base, policies: ['other'] },
    { ...base, principal: 'Workload::"spiffe://cluster.local/ns/shop/sa/backend"' },
    { ...base, class: undefined },
    { ...base, class: 'agent' },
    { ...base, authn: 'jwt' },
    { ...base, actor: 'Workload::"spiffe://cluster.local/ns/ci/sa/agent"' },
    { ...base, actor: 'Workload::"spiffe://cluster.local/ns/ci/sa/agent"', actorClass: 'agent' },
    { ...base, delegation: { depth: 1, actors: ['spiffe://cluster.local/ns/ci/sa/agent'] } },
    { ...base, delegation: { depth: 2, actors: ['a', 'b'] } },
    { ...base, action: 'POST', resource: 'users.shop', path: '/x' },
    { ...base, decision: 'deny', reason: 'policy_denied', detail: 'no policy permits the request' },
    { ...base, decision: 'deny', reason: 'policy_denied', detail: 'denied by a forbid policy' },
    { ...base, mode: 'dry-run' },
    { ...base, errors: [{ policy: 'p1', message: 'attribute `x` not found' }] },
    { ...base, errors: [{ policy: 'p1', message: 'another' }] },
    { ...base, policyVersion: '0123456789ab' },
    { ...base, wire: undefined },
    { ...base, wire: 'forward-auth' },
    { ...base, traceId: 't', spanId: 's' },
    everywhere('"\u2028'),
  ];
  const wrong: string[] = [];
  for (const [i, before] of variants.entries()) {
    for (const [j, record] of variants.entries()) {
      decisionLine(before);
      if (decisionLine(record) !== referenceLine(record)) wrong.push(`${j} after ${i}`);
    }
  }
  expect(wrong).toEqual([]);
});
