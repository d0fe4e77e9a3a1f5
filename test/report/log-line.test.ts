import { parseDecisionLine } from '../../src/report/log-line.js';
import { logLine } from './fixtures.js';

describe('parseDecisionLine', () => {
  test('a line as gatehouse writes it', () => {
    const line = logLine({ time: '2025-01-31T12:00:00.000Z', principal: 'Workload::"spiffe://td/ns/a/sa/b"', resource: 'orders.shop', action: 'GET', decision: 'allow', policies: ['p1'] });
    expect(parseDecisionLine(line)).toEqual({
      ok: true,
      value: { timeMs: Date.UTC(2025, 0, 31, 12), principal: 'Workload::"spiffe://td/ns/a/sa/b"', service: 'orders.shop', action: 'GET', decision: 'allow', policies: ['p1'], reason: '', policyVersion: 'abc123abc123' },
    });
  });

  test('only the fields a review needs are required', () => {
    expect(parseDecisionLine('{"time":"2025-01-31T12:00:00Z","principal":"","action":"GET","resource":"a.b","decision":"error"}')).toEqual({
      ok: true,
      value: { timeMs: Date.UTC(2025, 0, 31, 12), principal: '', service: 'a.b', action: 'GET', decision: 'error', policies: [], reason: '', policyVersion: '' },
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
  ])('%s', (_name, line, reason) => {
    expect(parseDecisionLine(line)).toEqual({ ok: false, reason });
  });
});
