import type { Decision } from '../../src/core/decision.js';
import type { Identity } from '../../src/core/identity.js';
import { decisionLine } from '../../src/log/decision-line.js';
import { toDecisionRecord } from '../../src/log/decision-record.js';
import { parseDecisionLine } from '../../src/report/log-line.js';
import { logLine } from './fixtures.js';
import { expectOk, spiffeId } from '../support/expect-ok.js';

describe('parseDecisionLine', () => {
  test('a line as gatehouse writes it', () => {
    const line = logLine({ time: '2025-01-31T12:00:00.000Z', principal: 'Workload::"spiffe://td/ns/a/sa/b"', resource: 'orders.shop', action: 'GET', decision: 'allow', policies: ['p1'], decisionId: 'd-1' });
    expect(parseDecisionLine(line)).toEqual({
      ok: true,
      value: { timeMs: Date.UTC(2025, 0, 31, 12), principal: 'Workload::"spiffe://td/ns/a/sa/b"', service: 'orders.shop', action: 'GET', path: '/', decision: 'allow', policies: ['p1'], reason: '', policyVersion: 'abc123abc123', decisionId: 'd-1' },
    });
  });

  test('only the fields a review needs are required', () => {
    expect(parseDecisionLine('{"time":"2025-01-31T12:00:00Z","principal":"","action":"GET","resource":"a.b","decision":"error"}')).toEqual({
      ok: true,
      value: { timeMs: Date.UTC(2025, 0, 31, 12), principal: '', service: 'a.b', action: 'GET', path: '', decision: 'error', policies: [], reason: '', policyVersion: '' },
    });
  });

  const base = { time: '2025-01-31T12:00:00Z', principal: 'p', action: 'GET', resource: 'r', decision: 'deny' };
  test.each([
    ['not JSON', '{"time": ', 'not JSON'],
    ['a JSON array', '[1,2]', 'not a JSON object'],
    ['JSON null', 'null', 'not a JSON object'],
    ['a winston operational line', '{"level":"info","message":"policy set loaded"}', '"time" is missing or not a string'],
    ['a bad time', JSON.stringify({ ...base, time: 'yesterday' }), '"time" is not a date and time'],
    ['a numeric time', JSON.stringify({ ...base, time: 1738324800000 }), '"time" is missing or not a string'],
    ['no principal', JSON.stringify({ ...base, principal: undefined }), '"principal" is missing or not a string'],
    ['an action that is not a string', JSON.stringify({ ...base, action: 7 }), '"action" is missing or not a string'],
    ['no resource', JSON.stringify({ ...base, resource: null }), '"resource" is missing or not a string'],
    ['an unknown decision', JSON.stringify({ ...base, decision: 'maybe' }), '"decision" is not allow, deny or error'],
    ['policies not a list of strings', JSON.stringify({ ...base, policies: [1] }), '"policies" is not a list of policy ids'],
    ['a class that is not a string', JSON.stringify({ ...base, class: 3 }), '"class" is not a workload class'],
    ['an empty class', JSON.stringify({ ...base, class: '' }), '"class" is not a workload class'],
    ['a class too long to be one', JSON.stringify({ ...base, class: 'x'.repeat(33) }), '"class" is not a workload class'],
    ['an actor that is not a string', JSON.stringify({ ...base, actor: { sub: 'x' } }), '"actor" is not a principal'],
    ['an empty actor', JSON.stringify({ ...base, actor: '' }), '"actor" is not a principal'],
    ['an actor class too long to be one', JSON.stringify({ ...base, actor: 'Workload::"spiffe://td/ns/a/sa/b"', actorClass: 'x'.repeat(33) }), '"actorClass" is not a workload class'],
  ])('%s', (_name, line, reason) => {
    expect(parseDecisionLine(line)).toEqual({ ok: false, reason });
  });
});

describe('the class a server logs reaches the review', () => {
  const builder: Identity = { kind: 'workload', spiffeId: spiffeId('spiffe://cluster.local/ns/ci/sa/builder'), class: 'build', authn: 'mtls' };
  const subject = { action: 'POST', resource: 'orders.shop', resourceNamespace: 'shop', path: '/api/orders' };
  const meta = { time: new Date(Date.UTC(2025, 0, 31, 12)), decisionId: 'd-1', requestId: 'r-1', durationMs: 0.2 };
  const deny = (identity: Identity | undefined): Decision => ({
    kind: 'deny',
    status: 'forbidden',
    code: 'policy_denied',
    reason: 'no-build-jobs-in-shop',
    identity,
    subject,
    policies: ['no-build-jobs-in-shop'],
    errors: [],
    dryRun: false,
    version: 'v1',
  });
  const logged = (decision: Decision): unknown => {
    return expectOk(parseDecisionLine(decisionLine(toDecisionRecord(decision, { ok: true, identity: builder }, meta)))).class;
  };

  test.each<[string, Decision, string | undefined]>([
    ['a workload principal carries its class', deny(builder), 'build'],
    ['a person carries none', deny({ kind: 'user', issuer: 'https://idp', subject: 'alice', name: 'alice', groups: [] }), undefined],
    ['the anonymous caller carries none', deny({ kind: 'anonymous' }), undefined],
    ['a refused credential carries none', deny(undefined), undefined],
    ['an undecided request carries none', { kind: 'unavailable', code: 'no_policy_set', reason: 'no policy set', subject }, undefined],
  ])('%s', (_name, decision, expected) => {
    expect(logged(decision)).toBe(expected);
  });
});

describe('the actor a server logs reaches the review', () => {
  const assistantId = 'spiffe://cluster.local/ns/agents/sa/assistant';
  const assistant: Identity = { kind: 'workload', spiffeId: spiffeId(assistantId), class: 'agent', authn: 'mtls' };
  const subject = { action: 'POST', resource: 'tickets.support', resourceNamespace: 'support', path: '/api/tickets' };
  const meta = { time: new Date(Date.UTC(2025, 0, 31, 12)), decisionId: 'd-1', requestId: 'r-1', durationMs: 0.2 };
  const deny = (identity: Identity): Decision => ({ kind: 'deny', status: 'forbidden', code: 'policy_denied', reason: 'no permit', identity, subject, policies: [], errors: [], dryRun: false, version: 'v1' });
  const read = (identity: Identity) => {
    const value = expectOk(parseDecisionLine(decisionLine(toDecisionRecord(deny(identity), { ok: true, identity }, meta))));
    return { principal: value.principal, actor: value.actor, actorClass: value.actorClass };
  };

  test.each<[string, Identity, ReturnType<typeof read>]>([
    [
      'a person over an agent\'s mTLS: the agent and its class',
      { kind: 'user', issuer: 'https://idp', subject: 'alice', name: 'alice', groups: [], delegation: { actor: assistant, actors: [assistantId], depth: 1 } },
      { principal: 'User::"alice"', actor: `Workload::"${assistantId}"`, actorClass: 'agent' },
    ],
    [
      'an act chain whose current actor is no workload: no actor',
      { kind: 'user', issuer: 'https://idp', subject: 'alice', name: 'alice', groups: [], delegation: { actors: ['client-7'], depth: 1 } },
      { principal: 'User::"alice"', actor: undefined, actorClass: undefined },
    ],
    ['a workload for itself: no actor', assistant, { principal: `Workload::"${assistantId}"`, actor: undefined, actorClass: undefined }],
  ])('%s', (_name, identity, expected) => {
    expect(read(identity)).toEqual(expected);
  });
});
