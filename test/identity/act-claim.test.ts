import { delegationFromAct, type ActRules } from '../../src/identity/act-claim.js';

const rules: ActRules = { maxDepth: 2, actorDomains: new Set(['cluster.local']), issuer: 'https://idp.example' };
const ci = 'spiffe://cluster.local/ns/ci/sa/builder';
const assistant = 'spiffe://cluster.local/ns/agents/sa/assistant';

/** The outcome as one comparable line: the refusal code, or the actor and the chain. */
function outcome(act: unknown, over: Partial<ActRules> = {}): string {
  const result = delegationFromAct(act, { ...rules, ...over });
  if (!result.ok) return `refused:${result.code}`;
  const { delegation } = result;
  if (delegation === undefined) return 'none';
  const actor = delegation.actor ? `${delegation.actor.spiffeId.toString()}:${delegation.actor.class}` : '-';
  return `${actor} [${delegation.actors.join(' ')}] ${delegation.depth}`;
}

describe('delegationFromAct (RFC 8693 act)', () => {
  test.each<[string, unknown, string, Partial<ActRules>?]>([
    ['no act claim', undefined, 'none'],
    ['one workload actor', { sub: ci }, `${ci}:unknown [${ci}] 1`],
    ['a nested chain, current actor first', { sub: assistant, act: { sub: ci } }, `${assistant}:unknown [${assistant} ${ci}] 2`],
    ['a non-SPIFFE actor is a name in the chain, not a workload', { sub: 'ci-bot' }, '- [ci-bot] 1'],
    ['a chain one longer than the maximum', { sub: assistant, act: { sub: ci, act: { sub: 'first' } } }, 'refused:delegation_too_deep'],
    ['a longer maximum admits it', { sub: assistant, act: { sub: ci, act: { sub: 'first' } } }, `${assistant}:unknown [${assistant} ${ci} first] 3`, { maxDepth: 3 }],
    ['an actor in an untrusted domain', { sub: 'spiffe://evil.example/ns/ci/sa/builder' }, 'refused:untrusted_trust_domain'],
    ['an earlier actor in an untrusted domain', { sub: assistant, act: { sub: 'spiffe://evil.example/ns/x/sa/y' } }, 'refused:untrusted_trust_domain'],
    ["a trusted domain the issuer may not speak for", { sub: 'spiffe://partner.example/ns/x/sa/y' }, 'refused:untrusted_trust_domain', { actorDomains: new Set(['cluster.local']) }],
    ['a malformed SPIFFE ID', { sub: 'spiffe://cluster.local/ns/../sa/x' }, 'refused:malformed_spiffe_id'],
    ['an upper-case SPIFFE scheme', { sub: 'SPIFFE://cluster.local/ns/ci/sa/builder' }, 'refused:malformed_spiffe_id'],
    ['a trust domain, not a workload', { sub: 'spiffe://cluster.local' }, 'refused:bad_claims'],
    ['act is not an object', 'spiffe://cluster.local/ns/ci/sa/builder', 'refused:bad_claims'],
    ['act is an array', [{ sub: ci }], 'refused:bad_claims'],
    ['a nested act is not an object', { sub: ci, act: 7 }, 'refused:bad_claims'],
    ['act without sub', { client_id: 'x' }, 'refused:bad_claims'],
    ['an empty sub', { sub: '' }, 'refused:bad_claims'],
    ['a sub with a control character', { sub: 'a\nb' }, 'refused:bad_claims'],
    ['a sub over 255 characters', { sub: 'a'.repeat(256) }, 'refused:bad_claims'],
    // The optional rules come as a rest parameter: a fourth named one would be taken for `done`.
  ])('%s', (_name, act, expected, ...over) => {
    expect(outcome(act, over[0])).toBe(expected);
  });

  test('a chain far deeper than the maximum is refused without walking it all', () => {
    let act: Record<string, unknown> = { sub: 'last' };
    for (let i = 0; i < 10_000; i++) act = { sub: `a${i}`, act };
    expect(outcome(act)).toBe('refused:delegation_too_deep');
  });
});
