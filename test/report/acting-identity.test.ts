/** Who is asked about as acting for whom: the inventory's `actsFor`, groups expanded to their people, each pair once. */
import { actingIdentities } from '../../src/report/acting-identity.js';
import { inventoryOf } from './fixtures.js';

const inventory = inventoryOf(`workloads:
  - spiffeId: spiffe://td/ns/agents/sa/assistant
    class: agent
    actsFor: [{ group: staff }, { user: alice }, { workload: "spiffe://td/ns/shop/sa/web" }]
  - spiffeId: spiffe://td/ns/shop/sa/web
    class: service
  - spiffeId: spiffe://td/ns/ci/sa/builder
    class: build
    actsFor: [{ user: carol }]
services: []
users:
  - { id: alice, groups: [staff] }
  - { id: bob, groups: [staff, sre], issuer: "https://idp" }
  - { id: carol }
`);

describe('actingIdentities', () => {
  const rows = actingIdentities(inventory);

  test('every (actor, principal) pair once, groups standing for their people, in inventory order', () => {
    expect(rows.map((row) => [row.actor, row.principal])).toEqual([
      ['Workload::"spiffe://td/ns/agents/sa/assistant"', 'User::"alice"'],
      ['Workload::"spiffe://td/ns/agents/sa/assistant"', 'User::"bob"'],
      ['Workload::"spiffe://td/ns/agents/sa/assistant"', 'Workload::"spiffe://td/ns/shop/sa/web"'],
      ['Workload::"spiffe://td/ns/ci/sa/builder"', 'User::"carol"'],
    ]);
  });

  test('the principal carries the actor as the server would: an mTLS workload with its class, a chain of one', () => {
    const bob = rows[1]!;
    expect(bob.identity).toEqual({
      kind: 'user',
      issuer: 'https://idp',
      subject: 'bob',
      name: 'bob',
      groups: ['staff', 'sre'],
      delegation: { actor: expect.objectContaining({ kind: 'workload', class: 'agent', authn: 'mtls' }), actors: ['spiffe://td/ns/agents/sa/assistant'], depth: 1 },
    });
    expect([...bob.target.ancestors]).toEqual(['Group::"staff"', 'Group::"sre"']);
    // A workload's authority presented by another is a token, not its own mTLS.
    expect(rows[2]!.identity).toMatchObject({ kind: 'workload', class: 'service', authn: 'jwt', delegation: { actors: ['spiffe://td/ns/agents/sa/assistant'] } });
  });

  test('no actsFor, no rows', () => {
    expect(actingIdentities(inventoryOf('workloads: []\nservices: []\nusers: [{ id: alice, groups: [staff] }]\n'))).toEqual([]);
  });
});
