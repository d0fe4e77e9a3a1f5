import { parseInventory } from '../../src/report/inventory.js';
import { exampleInventoryYaml, ids } from './fixtures.js';

describe('parseInventory', () => {
  test('the example inventory: workloads with their Kubernetes parts, services with their namespaces', () => {
    const parsed = parseInventory(exampleInventoryYaml, 'inv.yaml');
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    const frontend = parsed.inventory.workloads[0]!;
    expect({ principal: frontend.principal, class: frontend.class, namespace: frontend.namespace, serviceAccount: frontend.serviceAccount }).toEqual({
      principal: `Workload::"${ids.frontend}"`,
      class: 'service',
      namespace: 'shop',
      serviceAccount: 'frontend',
    });
    expect(parsed.inventory.services).toEqual([
      { name: 'orders.shop', namespace: 'shop' },
      { name: 'catalog.shop', namespace: 'shop' },
      { name: 'payments.shop', namespace: 'shop' },
      { name: 'artifacts.registry', namespace: 'registry' },
    ]);
    expect(Object.isFrozen(parsed.inventory)).toBe(true);
  });

  test('a non-Kubernetes SPIFFE ID keeps the namespace given as a label; a one-label service has no namespace', () => {
    const parsed = parseInventory('workloads:\n  - spiffeId: spiffe://example.org/billing\n    class: automation\n    namespace: finance\nservices: [ledger]\n', 'inv.yaml');
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    expect(parsed.inventory.workloads[0]).toMatchObject({ principal: 'Workload::"spiffe://example.org/billing"', namespace: 'finance', serviceAccount: undefined });
    expect(parsed.inventory.services).toEqual([{ name: 'ledger', namespace: undefined }]);
  });

  test('empty lists are a valid (if pointless) inventory', () => {
    expect(parseInventory('workloads: []\nservices: []\n', 'inv.yaml')).toEqual({ ok: true, inventory: { workloads: [], services: [], users: [] } });
  });

  test('people with their groups, and whom a workload may act for', () => {
    const yaml = `workloads:
  - spiffeId: spiffe://td/ns/agents/sa/assistant
    class: agent
    actsFor: [{ group: staff }, { user: "corp:bob" }, { workload: "spiffe://td/ns/shop/sa/web" }]
  - spiffeId: spiffe://td/ns/shop/sa/web
    class: service
services: []
users:
  - id: "corp:alice"
    groups: ["corp:staff", staff, staff]
    issuer: https://idp.example.com
  - id: "corp:bob"
`;
    const parsed = parseInventory(yaml.replace('{ group: staff }', '{ group: "corp:staff" }'), 'inv.yaml');
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    expect(parsed.inventory.users).toEqual([
      { id: 'corp:alice', principal: 'User::"corp:alice"', groups: ['corp:staff', 'staff'], issuer: 'https://idp.example.com' },
      { id: 'corp:bob', principal: 'User::"corp:bob"', groups: [], issuer: '' },
    ]);
    expect(parsed.inventory.workloads[0]!.actsFor.map((target) => (target.kind === 'workload' ? { workload: target.spiffeId.toString() } : target))).toEqual([
      { kind: 'group', name: 'corp:staff' },
      { kind: 'user', id: 'corp:bob' },
      { workload: 'spiffe://td/ns/shop/sa/web' },
    ]);
    expect(parsed.inventory.workloads[1]!.actsFor).toEqual([]);
  });

  const table: { name: string; yaml: string; problems: string[] }[] = [
    { name: 'not YAML', yaml: 'workloads: [\n', problems: ['inv.yaml:2:1: Flow sequence in block collection must be sufficiently indented and end with a ]'] },
    { name: 'not a mapping', yaml: '- a\n- b\n', problems: ['inv.yaml:1: the inventory must be a mapping with the keys workloads and services'] },
    { name: 'both keys missing', yaml: 'hosts: []\n', problems: ['inv.yaml:1: hosts: unknown key (expected workloads, services or users)', 'inv.yaml:1: workloads: is missing (an empty list is allowed)', 'inv.yaml:1: services: is missing (an empty list is allowed)'] },
    { name: 'lists of the wrong type', yaml: 'workloads: {}\nservices: orders.shop\n', problems: ['inv.yaml:1: workloads: must be a list', 'inv.yaml:2: services: must be a list'] },
    {
      name: 'a bad SPIFFE ID and a bad class, on their own lines',
      yaml: 'workloads:\n  - spiffeId: "spiffe://Cluster.local/ns/a/sa/b"\n    class: bild\nservices: []\n',
      problems: ['inv.yaml:2: workloads[0].spiffeId: trust domain must be lower case (got "spiffe://Cluster.local/ns/a/sa/b")', 'inv.yaml:3: workloads[0].class: must be one of service, build, automation, agent, unknown (got "bild")'],
    },
    { name: 'missing fields point at the entry', yaml: 'workloads:\n  - namespace: shop\nservices: []\n', problems: ['inv.yaml:2: workloads[0].spiffeId: is missing', 'inv.yaml:2: workloads[0].class: must be one of service, build, automation, agent, unknown (missing)'] },
    { name: 'an unknown workload key', yaml: 'workloads:\n  - spiffeId: spiffe://td/ns/a/sa/b\n    class: service\n    team: x\nservices: []\n', problems: ['inv.yaml:4: workloads[0].team: unknown key (expected spiffeId, class, namespace, serviceAccount or actsFor)'] },
    {
      name: 'namespace and service account that contradict the ID',
      yaml: 'workloads:\n  - spiffeId: spiffe://td/ns/a/sa/b\n    class: service\n    namespace: other\n    serviceAccount: c\nservices: []\n',
      problems: ['inv.yaml:4: workloads[0].namespace: "other" disagrees with the SPIFFE ID\'s namespace "a"', 'inv.yaml:5: workloads[0].serviceAccount: "c" disagrees with the SPIFFE ID\'s service account "b"'],
    },
    { name: 'an entry that is not a mapping', yaml: 'workloads:\n  - spiffe://td/ns/a/sa/b\nservices: []\n', problems: ['inv.yaml:2: workloads[0]: must be a mapping with spiffeId and class'] },
    {
      name: 'duplicates',
      yaml: 'workloads:\n  - {spiffeId: "spiffe://td/ns/a/sa/b", class: service}\n  - {spiffeId: "spiffe://td/ns/a/sa/b", class: build}\nservices: [a.b, a.b]\n',
      problems: ['inv.yaml:3: workloads[1].spiffeId: duplicate of workloads[0]', 'inv.yaml:4: services[1]: duplicate of services[0]'],
    },
    {
      name: 'services that are not names',
      yaml: 'workloads: []\nservices:\n  - 42\n  - "orders shop"\n  - ""\n  - {name: x}\n',
      problems: [
        'inv.yaml:3: services[0]: must be a service name such as "orders.shop" (got "42")',
        'inv.yaml:4: services[1]: must be a service name such as "orders.shop", without spaces or quotes, at most 253 characters (got "orders shop")',
        'inv.yaml:5: services[2]: must be a service name such as "orders.shop", without spaces or quotes, at most 253 characters (got "")',
        'inv.yaml:6: services[3]: must be a service name such as "orders.shop" (got a mapping)',
      ],
    },
    {
      name: 'duplicate after a refused entry: indexes are the file\'s own',
      yaml: 'workloads:\n  - {spiffeId: nope, class: service}\n  - {spiffeId: "spiffe://td/a", class: service}\n  - {spiffeId: "spiffe://td/a", class: build}\nservices: []\n',
      problems: ['inv.yaml:2: workloads[0].spiffeId: SPIFFE ID must start with spiffe:// (got "nope")', 'inv.yaml:4: workloads[2].spiffeId: duplicate of workloads[1]'],
    },
    {
      name: 'people that are not people',
      yaml: 'workloads: []\nservices: []\nusers:\n  - alice\n  - {id: "", groups: staff}\n  - {groups: [""], team: x}\n  - {id: bob}\n  - {id: bob, issuer: 7}\n',
      problems: [
        'inv.yaml:4: users[0]: must be a mapping with id and groups',
        'inv.yaml:5: users[1].id: must be a name of 1 to 256 characters without control characters (got "")',
        'inv.yaml:5: users[1].groups: must be a list of group names (got "staff")',
        'inv.yaml:6: users[2].team: unknown key (expected id, groups or issuer)',
        'inv.yaml:6: users[2].id: is missing',
        'inv.yaml:6: users[2].groups[0]: must be a name of 1 to 256 characters without control characters (got "")',
        'inv.yaml:8: users[4].issuer: must be a name of 1 to 256 characters without control characters (got "7")',
      ],
    },
    {
      name: 'actsFor entries that are not entries',
      yaml: `workloads:
  - spiffeId: spiffe://td/ns/a/sa/agent
    class: agent
    actsFor:
      - user: alice
      - group: staff
      - workload: spiffe://td/ns/a/sa/other
      - workload: spiffe://td/ns/a/sa/other
      - workload: not-spiffe
      - { user: alice, group: staff }
      - alice
  - spiffeId: spiffe://td/ns/a/sa/other
    class: service
    actsFor: { group: staff }
services: []
users:
  - { id: alice, groups: [staff] }
`,
      problems: [
        'inv.yaml:9: workloads[0].actsFor[4].workload: SPIFFE ID must start with spiffe:// (got "not-spiffe")',
        'inv.yaml:10: workloads[0].actsFor[5]: must be one of { user: ID }, { group: NAME } or { workload: SPIFFE_ID } (got the keys user, group)',
        'inv.yaml:11: workloads[0].actsFor[6]: must be one of { user: ID }, { group: NAME } or { workload: SPIFFE_ID } (got "alice")',
        'inv.yaml:14: workloads[1].actsFor: must be a list such as [{ group: staff }, { user: alice }] (got a mapping)',
      ],
    },
    {
      name: 'actsFor that parses but names nobody the review can probe',
      yaml: `workloads:
  - spiffeId: spiffe://td/ns/a/sa/agent
    class: agent
    actsFor:
      - user: carol
      - group: sre
      - workload: spiffe://td/ns/a/sa/agent
      - workload: spiffe://td/ns/a/sa/gone
services: []
users:
  - { id: alice, groups: [staff] }
`,
      problems: [
        'inv.yaml:5: workloads[0].actsFor[0].user: "carol" is not the id of any entry of users',
        'inv.yaml:6: workloads[0].actsFor[1].group: no entry of users is in the group "sre"',
        'inv.yaml:7: workloads[0].actsFor[2].workload: a workload acting for itself is no delegation',
        'inv.yaml:8: workloads[0].actsFor[3].workload: "spiffe://td/ns/a/sa/gone" is not the spiffeId of any entry of workloads',
      ],
    },
    { name: 'duplicate people', yaml: 'workloads: []\nservices: []\nusers:\n  - {id: alice}\n  - {id: alice, groups: [x]}\n', problems: ['inv.yaml:5: users[1].id: duplicate of users[0]'] },
    { name: 'a duplicate key', yaml: 'workloads: []\nworkloads: []\nservices: []\n', problems: ['inv.yaml:2:1: Map keys must be unique'] },
  ];
  test.each(table)('$name', ({ yaml, problems }) => {
    expect(parseInventory(yaml, 'inv.yaml')).toEqual({ ok: false, problems });
  });
});
