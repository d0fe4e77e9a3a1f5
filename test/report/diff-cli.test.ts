/**
 * `gatehouse diff` as a process: a table of policy changes, each with the exact edges it grants
 * and revokes, and the CI recipe of docs/report.md run as written on a git repository.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DiffJson } from '../../src/report/run-diff.js';
import { examplePolicyDir, gatehouse, projectRoot, removeScratch, scratchDir } from '../cli/cli.js';
import { mainScript } from '../support/server-process.js';

const schema = readFileSync(join(examplePolicyDir, 'schema.cedarschema'), 'utf8');
const frontend = 'Workload::"spiffe://cluster.local/ns/shop/sa/frontend"';
const builder = 'Workload::"spiffe://cluster.local/ns/ci/sa/builder"';

const inventory = `workloads:
  - spiffeId: "spiffe://cluster.local/ns/shop/sa/frontend"
    class: service
  - spiffeId: "spiffe://cluster.local/ns/ci/sa/builder"
    class: build
services:
  - orders.shop
  - catalog.shop
`;

const readsOrders = `@id("frontend-reads-orders")
permit (
  principal == Workload::"spiffe://cluster.local/ns/shop/sa/frontend",
  action in Action::"read",
  resource == Service::"orders.shop"
)
when { context.path == "/api/orders" || context.path like "/api/orders/*" };
`;
const readsCatalog = `@id("frontend-reads-catalog")
permit (
  principal == Workload::"spiffe://cluster.local/ns/shop/sa/frontend",
  action == Action::"GET",
  resource == Service::"catalog.shop"
);
`;
const noHead = `@id("no-head")
forbid (principal, action == Action::"HEAD", resource);
`;
const base = { 'shop.cedar': readsOrders };

// People and who acts for them: the support assistant for the staff group, a build job for alice.
const assistant = 'Workload::"spiffe://cluster.local/ns/agents/sa/assistant"';
const [alice, bob] = ['User::"corp:alice"', 'User::"corp:bob"'];
const peopleInventory = `workloads:
  - spiffeId: "spiffe://cluster.local/ns/agents/sa/assistant"
    class: agent
    actsFor: [{ group: "corp:staff" }]
  - spiffeId: "spiffe://cluster.local/ns/ci/sa/builder"
    class: build
    actsFor: [{ user: "corp:alice" }]
services:
  - tickets.support
users:
  - { id: "corp:alice", groups: ["corp:staff"] }
  - { id: "corp:bob", groups: ["corp:staff", "corp:sre"] }
  - { id: "corp:carol" }
`;
const assistantReadsForStaff = `@id("assistant-reads-for-staff")
permit (principal in Group::"corp:staff", action in Action::"read", resource == Service::"tickets.support")
when { context has actor && context.actor == Workload::"spiffe://cluster.local/ns/agents/sa/assistant" };
`;
const staffReads = `@id("staff-reads-tickets")
permit (principal in Group::"corp:staff", action in Action::"read", resource == Service::"tickets.support");
`;
const aliceReads = staffReads.replace('staff-reads-tickets', 'alice-reads-tickets').replace('principal in Group::"corp:staff"', 'principal == User::"corp:alice"');
const noBuildActors = `@id("no-build-actors")
forbid (principal, action, resource)
when { context has actor && context.actor.class == "build" };
`;
const noAgentsForPeople = `@id("no-agents-for-people")
forbid (principal is User, action, resource)
when { context has actor && context.actor.class == "agent" };
`;
const srePostsAdmin = `@id("sre-posts-admin")
permit (principal in Group::"corp:sre", action == Action::"POST", resource)
when { context.path like "/admin/*" };
`;

interface Change {
  readonly name: string;
  /** The workloads-only inventory unless `people`. */
  readonly inventory?: 'people';
  readonly before: Record<string, string>;
  readonly after: Record<string, string>;
  readonly code: number;
  readonly edges: readonly string[];
}

const reads = ['GET', 'HEAD', 'OPTIONS'];
const changes: Change[] = [
  {
    name: 'a permit added grants its cells on every path',
    before: base,
    after: { ...base, 'catalog.cedar': readsCatalog },
    code: 1,
    edges: [`+ ${frontend} catalog.shop GET every path  (new: allowed by frontend-reads-catalog; old: no permit applies)`],
  },
  {
    name: 'a permit removed revokes its cells',
    before: { ...base, 'catalog.cedar': readsCatalog },
    after: base,
    code: 0,
    edges: [`- ${frontend} catalog.shop GET every path  (old: allowed by frontend-reads-catalog; new: no permit applies)`],
  },
  {
    name: 'a path narrowed revokes the requests under it, per method',
    before: base,
    after: { 'shop.cedar': readsOrders.replace(' || context.path like "/api/orders/*"', '') },
    code: 0,
    edges: reads.map((action) => `- ${frontend} orders.shop ${action} /api/orders/x (like "/api/orders/*")  (old: allowed by frontend-reads-orders; new: no permit applies)`),
  },
  {
    name: 'a path condition dropped grants the paths no condition named',
    before: base,
    after: { 'shop.cedar': readsOrders.replace('when { context.path == "/api/orders" || context.path like "/api/orders/*" }', '') },
    code: 1,
    edges: reads.map((action) => `+ ${frontend} orders.shop ${action} / (a path no condition names)  (new: allowed by frontend-reads-orders; old: no permit applies)`),
  },
  {
    name: 'a forbid added revokes, naming the forbid',
    before: base,
    after: { ...base, 'guard.cedar': noHead },
    code: 0,
    edges: ['/api/orders (== "/api/orders")', '/api/orders/x (like "/api/orders/*")'].map(
      (request) => `- ${frontend} orders.shop HEAD ${request}  (old: allowed by frontend-reads-orders; new: denied by no-head)`,
    ),
  },
  {
    name: 'a forbid removed grants, naming the forbid it lifted',
    before: { ...base, 'guard.cedar': noHead },
    after: base,
    code: 1,
    edges: ['/api/orders (== "/api/orders")', '/api/orders/x (like "/api/orders/*")'].map(
      (request) => `+ ${frontend} orders.shop HEAD ${request}  (new: allowed by frontend-reads-orders; old: denied by no-head)`,
    ),
  },
  {
    name: 'a permit widened to a namespace grants the build job too',
    before: base,
    after: { 'shop.cedar': readsOrders.replace('principal == Workload::"spiffe://cluster.local/ns/shop/sa/frontend"', 'principal is Workload') },
    code: 1,
    edges: reads.flatMap((action) =>
      ['/api/orders (== "/api/orders")', '/api/orders/x (like "/api/orders/*")'].map((request) => `+ ${builder} orders.shop ${action} ${request}  (new: allowed by frontend-reads-orders; old: no permit applies)`),
    ),
  },
  {
    name: 'a path condition widened grants the paths it now admits, and nothing it already did',
    before: base,
    after: { 'shop.cedar': readsOrders.replace('context.path == "/api/orders" || context.path like "/api/orders/*"', 'context.path like "/api/*"') },
    code: 1,
    edges: reads.map((action) => `+ ${frontend} orders.shop ${action} /api/x (like "/api/*")  (new: allowed by frontend-reads-orders; old: no permit applies)`),
  },
  { name: 'no change', before: base, after: base, code: 0, edges: [] },
  {
    name: 'delegation: a permit that reads context.actor grants only the assistant acting for staff, not staff themselves',
    inventory: 'people',
    before: {},
    after: { 'support.cedar': assistantReadsForStaff },
    code: 1,
    edges: [alice, bob].flatMap((person) =>
      reads.map((action) => `+ ${assistant} acting for ${person} tickets.support ${action} every path  (new: allowed by assistant-reads-for-staff; old: no permit applies)`),
    ),
  },
  {
    name: 'delegation: removing a forbid on build actors grants the build job acting for alice, and nothing else',
    inventory: 'people',
    before: { 'support.cedar': staffReads, 'guard.cedar': noBuildActors },
    after: { 'support.cedar': staffReads },
    code: 1,
    edges: reads.map((action) => `+ ${builder} acting for ${alice} tickets.support ${action} every path  (new: allowed by staff-reads-tickets; old: denied by no-build-actors)`),
  },
  {
    name: 'delegation: a forbid on agents acting for people only narrows (exit 0)',
    inventory: 'people',
    before: { 'support.cedar': staffReads },
    after: { 'support.cedar': staffReads, 'guard.cedar': noAgentsForPeople },
    code: 0,
    edges: [alice, bob].flatMap((person) =>
      reads.map((action) => `- ${assistant} acting for ${person} tickets.support ${action} every path  (old: allowed by staff-reads-tickets; new: denied by no-agents-for-people)`),
    ),
  },
  {
    // bob's assistant gains the same, which bob's own edge already says: not listed twice.
    name: 'group membership: a permit for a group grants its members only, on the paths it names',
    inventory: 'people',
    before: { 'support.cedar': staffReads },
    after: { 'support.cedar': staffReads, 'sre.cedar': srePostsAdmin },
    code: 1,
    edges: [`+ ${bob} tickets.support POST /admin/x (like "/admin/*")  (new: allowed by sre-posts-admin; old: no permit applies)`],
  },
  {
    name: 'group membership: a permit widened from a person to her group grants the other members',
    inventory: 'people',
    before: { 'support.cedar': aliceReads },
    after: { 'support.cedar': aliceReads.replace('principal == User::"corp:alice"', 'principal in Group::"corp:staff"') },
    code: 1,
    edges: reads.map((action) => `+ ${bob} tickets.support ${action} every path  (new: allowed by alice-reads-tickets; old: no permit applies)`),
  },
];

async function policyDir(files: Record<string, string>): Promise<string> {
  return scratchDir({ 'schema.cedarschema': schema, ...files });
}

describe('gatehouse diff (process)', () => {
  let inventoryFile: string;
  let peopleFile: string;
  beforeAll(async () => {
    if (!existsSync(mainScript)) throw new Error(`${mainScript} is missing: run npm run build first`);
    const dir = await scratchDir({ 'inventory.yaml': inventory, 'people.yaml': peopleInventory });
    [inventoryFile, peopleFile] = [join(dir, 'inventory.yaml'), join(dir, 'people.yaml')];
  });
  afterAll(removeScratch);

  test.each(changes.map((change) => [change.name, change] as const))('%s', async (_, change) => {
    const [oldDir, newDir] = [await policyDir(change.before), await policyDir(change.after)];
    const run = await gatehouse(['diff', '--inventory', change.inventory === 'people' ? peopleFile : inventoryFile, oldDir, newDir]);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: change.code, stderr: '' });
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.slice(0, -1)).toEqual(change.edges);
    const granted = change.edges.filter((edge) => edge.startsWith('+')).length;
    const summary = change.edges.length === 0 ? 'no access granted or revoked' : `${granted} granted, ${change.edges.length - granted} revoked`;
    expect(lines.at(-1)).toMatch(new RegExp(`^${summary}: ${oldDir} \\([0-9a-f]{12}\\) → ${newDir} \\([0-9a-f]{12}\\)$`));
  });

  test('json and md say the same as text', async () => {
    const [oldDir, newDir] = [await policyDir(base), await policyDir({ ...base, 'catalog.cedar': readsCatalog, 'guard.cedar': noHead })];
    const json = await gatehouse(['diff', '--inventory', inventoryFile, oldDir, newDir, '--format', 'json']);
    expect(json.code).toBe(1);
    const diff = JSON.parse(json.stdout) as DiffJson;
    expect(diff).toMatchObject({ format: 'gatehouse-access-diff/v1', old: { dir: oldDir, policies: 1 }, new: { dir: newDir, policies: 3 }, summary: { granted: 1, revoked: 2 } });
    expect(diff.granted).toEqual([
      { kind: 'access', principal: frontend, service: 'catalog.shop', action: 'GET', when: null, before: 'deny', after: 'allow', policies: { old: [], new: ['frontend-reads-catalog'] } },
    ]);
    expect(diff.revoked[0]).toEqual({
      kind: 'access',
      principal: frontend,
      service: 'orders.shop',
      action: 'HEAD',
      when: { path: '/api/orders', condition: '== "/api/orders"', tags: [] },
      before: 'conditional',
      after: 'deny',
      policies: { old: ['frontend-reads-orders'], new: ['no-head'] },
    });
    const md = await gatehouse(['diff', '--inventory', inventoryFile, oldDir, newDir, '--format', 'md']);
    expect(md.code).toBe(1);
    expect(md.stdout).toContain('### gatehouse diff: 1 granted, 2 revoked');
    expect(md.stdout).toContain(`| Workload::"spiffe://cluster.local/ns/shop/sa/frontend" | catalog.shop | GET | every path | frontend-reads-catalog | no permit |`);
    expect(md.stdout).toContain('| orders.shop | HEAD | /api/orders/x (like "/api/orders/\\*") | frontend-reads-orders | no-head |');
  });

  // alice's assistant is allowed by both permits, so it is an edge of its own; her build job is
  // allowed by hers alone, which her own edge already says.
  test('delegation edges in json and md, apart from the principals\' own', async () => {
    const [oldDir, newDir] = [await policyDir({ 'guard.cedar': noBuildActors }), await policyDir({ 'support.cedar': assistantReadsForStaff + aliceReads })];
    const json = await gatehouse(['diff', '--inventory', peopleFile, oldDir, newDir, '--format', 'json']);
    expect(json.code).toBe(1);
    const diff = JSON.parse(json.stdout) as DiffJson;
    expect(diff.inventory).toEqual({ file: peopleFile, workloads: 2, users: 3, delegations: 3, services: 1 });
    expect(diff.granted.map((edge) => [edge.kind, edge.kind === 'delegation' ? edge.actor : null, edge.principal, edge.action])).toEqual([
      ...reads.map((action) => ['access', null, alice, action]),
      ...reads.map((action) => ['delegation', assistant, alice, action]),
      ...reads.map((action) => ['delegation', assistant, bob, action]),
    ]);
    expect(diff.granted.find((edge) => edge.kind === 'delegation')?.policies).toEqual({ old: [], new: ['assistant-reads-for-staff', 'alice-reads-tickets'] });
    expect(diff.granted.find((edge) => edge.kind === 'delegation' && edge.principal === bob)).toEqual({
      kind: 'delegation',
      actor: assistant,
      principal: bob,
      service: 'tickets.support',
      action: 'GET',
      when: null,
      before: 'deny',
      after: 'allow',
      policies: { old: [], new: ['assistant-reads-for-staff'] },
    });
    const md = await gatehouse(['diff', '--inventory', peopleFile, oldDir, newDir, '--format', 'md']);
    expect(md.code).toBe(1);
    expect(md.stdout).toContain('### gatehouse diff: 9 granted, 0 revoked');
    expect(md.stdout).toContain('over 2 workloads, 3 people and the anonymous caller, 3 delegations (a workload acting for someone) × 1 services');
    expect(md.stdout).toContain('#### Granted (3)');
    expect(md.stdout).toContain('#### Granted through delegation (6)\n\n| actor | acting for | service | method | requests | allowed by (new) | denied before by (old) |');
    expect(md.stdout).toContain(`| ${assistant} | ${bob} | tickets.support | GET | every path | assistant-reads-for-staff | no permit |`);
  });

  test('an invalid set is exit 2, with its problems as FILE:LINE:COL', async () => {
    const [oldDir, newDir] = [await policyDir(base), await policyDir({ 'shop.cedar': readsOrders.replace('Action::"read"', 'Action::"reed"') })];
    const run = await gatehouse(['diff', '--inventory', inventoryFile, oldDir, newDir]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const validate = await gatehouse(['validate', '--policies', newDir]);
    const problem = validate.stderr.split('\n')[0]!;
    expect(problem).toMatch(new RegExp(`^${join(newDir, 'shop.cedar')}:4:13: .*Action::"reed"`));
    expect(run.stderr).toContain(`gatehouse diff: ${problem}\n`);
    expect(run.stderr).toContain(`gatehouse diff: ${newDir}: the policy set is invalid`);
  });

  test.each([
    ['one directory', ['DIR']],
    ['no inventory', ['--no-inventory']],
    ['an unknown format', ['--format', 'html']],
  ])('bad usage (%s) is exit 2', async (_, args) => {
    const dir = await policyDir(base);
    const withInventory = args[0] === '--no-inventory' ? [dir, dir] : ['--inventory', inventoryFile, ...args.map((arg) => (arg === 'DIR' ? dir : arg)), ...(args[0] === 'DIR' ? [] : [dir, dir])];
    const run = await gatehouse(['diff', ...withInventory]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^gatehouse diff: /);
  });
});

describe('docs/report.md\'s delegation example, on the shipped policies', () => {
  afterAll(removeScratch);

  test('deleting the build-job forbid grants exactly the documented delegation edges, and nothing without actsFor', async () => {
    const docs = readFileSync(join(projectRoot, 'docs', 'report.md'), 'utf8');
    const section = docs.slice(docs.indexOf('### People, groups, and who acts for whom'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
    const output = /```\n(\+ [\s\S]*?)```/.exec(section)![1]!.trimEnd().split('\n');
    const shipped = Object.fromEntries(
      readdirSync(examplePolicyDir)
        .filter((name) => name.endsWith('.cedar') || name.endsWith('.cedarschema'))
        .map((name) => [name, readFileSync(join(examplePolicyDir, name), 'utf8')]),
    );
    const forbid = /@id\("build-jobs-never-act-in-shop"\)[^;]*;/;
    expect(shipped['delegation.cedar']).toMatch(forbid);
    const newDir = await scratchDir({ ...shipped, 'delegation.cedar': shipped['delegation.cedar']!.replace(forbid, '') });
    const inventoryFile = join(await scratchDir({ 'inventory.yaml': yaml }), 'inventory.yaml');

    const run = await gatehouse(['diff', '--inventory', inventoryFile, examplePolicyDir, newDir]);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 1, stderr: '' });
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.slice(0, -1)).toEqual(output.slice(0, -1));
    expect(lines.at(-1)).toMatch(/^3 granted, 0 revoked: /);
    expect(output.at(-1)).toMatch(/^3 granted, 0 revoked: /);

    const workloadsOnly = yaml.replace(/^ +actsFor:.*\n/gm, '').replace(/^users:\n(?: +- .*\n)*/m, '');
    expect(workloadsOnly).not.toMatch(/actsFor|users|alice/);
    const withoutPeople = await gatehouse(['diff', '--inventory', join(await scratchDir({ 'inventory.yaml': workloadsOnly }), 'inventory.yaml'), examplePolicyDir, newDir]);
    expect({ code: withoutPeople.code, stdout: withoutPeople.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(/^no access granted or revoked: /) });

    // The sample inventory lists people and actsFor too: the same edges, on each of the shop's three services.
    const sample = await gatehouse(['diff', '--inventory', join(projectRoot, 'examples', 'inventory.yaml'), examplePolicyDir, newDir]);
    const granted = sample.stdout.trimEnd().split('\n');
    expect(granted.at(-1)).toMatch(/^9 granted, 0 revoked: /);
    expect(granted.slice(0, -1).map((line) => line.replace(/ (orders|catalog|payments)\.shop /, ' SERVICE.shop '))).toEqual(
      ['orders', 'catalog', 'payments'].flatMap(() => output.slice(0, -1).map((line) => line.replace(' orders.shop ', ' SERVICE.shop '))),
    );
  });
});

describe('the CI recipe of docs/report.md, on two git revisions of a policy folder', () => {
  afterAll(removeScratch);

  test('runs as written and reports what the pull request grants', async () => {
    const docs = readFileSync(join(projectRoot, 'docs', 'report.md'), 'utf8');
    const recipe = docs.split('\n').find((line) => line.includes('git archive'));
    expect(recipe).toMatch(/^base=.*gatehouse diff .*> access-diff\.md$/);
    const inventoryYaml = readFileSync(join(projectRoot, 'examples', 'inventory.yaml'), 'utf8');
    const repo = await scratchDir({ 'examples/inventory.yaml': inventoryYaml, 'policies/schema.cedarschema': schema, 'policies/shop.cedar': readsOrders });
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org' } });
    git('init', '-q', '-b', 'main');
    git('add', '.');
    git('commit', '-qm', 'base');
    git('update-ref', 'refs/remotes/origin/main', 'HEAD');
    git('checkout', '-qb', 'change');
    await writeFile(join(repo, 'policies', 'catalog.cedar'), readsCatalog);
    git('add', '.');
    git('commit', '-qm', 'frontend reads the catalog');

    const script = `gatehouse() { "${process.execPath}" "${mainScript}" "$@"; }\n${recipe!}\n`;
    const run = spawnSync('bash', ['-c', script], { cwd: repo, encoding: 'utf8' });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 1, stderr: '' });
    const comment = readFileSync(join(repo, 'access-diff.md'), 'utf8');
    expect(comment).toContain('### gatehouse diff: 1 granted, 0 revoked');
    expect(comment).toContain(`| ${frontend} | catalog.shop | GET | every path | frontend-reads-catalog | no permit |`);
  });
});
