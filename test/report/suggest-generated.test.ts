/**
 * `report --suggest` on generated traffic over the example policies and examples/inventory.yaml:
 * the requests the current set allows (from the report's own matrix), half the granted cells
 * used, people's included, and delegated use along the inventory's `actsFor` that the shipped
 * delegation policies allow. The written test file holds one `deny` case per unobserved cell of
 * the inventory matrix, and `gatehouse test` passes on it; every generated allowed request is
 * still allowed by the suggested set; `diff` against it, delegation edges included, only revokes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { examplePolicyDir, gatehouse, projectRoot, removeScratch, scratchDir } from '../cli/cli.js';
import { mainScript } from '../support/server-process.js';
import { logLine } from './fixtures.js';

const now = '2025-01-31T12:00:00.000Z';
const inventory = join(projectRoot, 'examples', 'inventory.yaml');
const actions = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'];

interface Cell {
  principal: string;
  service: string;
  action: string;
  access: string;
  allowedWhen: { path: string; condition: string | null; tags: unknown[] }[];
}
interface Identity {
  principal: string;
  class: string;
}
interface Request {
  principal: string;
  class: string;
  service: string;
  action: string;
  path: string;
  /** The workload acting for the principal, and its class. */
  actor?: { spiffe: string; class: string };
  /** Headers the current policies need that the log does not keep. */
  headers?: Record<string, string>;
}
interface Case {
  name: string;
  expect: 'allow' | 'deny';
  method: string;
  service: string;
  spiffe?: string;
  anonymous?: boolean;
  user?: { subject: string };
  actor?: string;
}

const workload = (path: string) => `spiffe://cluster.local/ns/${path}`;
const assistant = { spiffe: workload('agents/sa/assistant'), class: 'agent' };
const frontend = { spiffe: workload('shop/sa/frontend'), class: 'service' };
const reconciler = { spiffe: workload('ops/sa/reconciler'), class: 'automation' };
const builder = { spiffe: workload('ci/sa/builder'), class: 'build' };
/** Use through the inventory's actsFor that policies/delegation.cedar (and sre.cedar, for alice) allows. */
const delegated: Request[] = [
  ...['alice', 'bob'].flatMap((who) => [1, 2, 3].map((n) => ({ principal: `User::"${who}"`, class: 'user', service: 'tickets.support', action: 'GET', path: `/tickets/${n}`, actor: assistant }))),
  ...[1, 2].map((n) => ({ principal: 'User::"carol"', class: 'user', service: 'orders.shop', action: 'GET', path: `/api/orders/${n}`, actor: frontend })),
  { principal: 'User::"carol"', class: 'user', service: 'orders.shop', action: 'POST', path: '/api/orders', actor: frontend, headers: { 'x-tenant': 'x' } },
  { principal: 'User::"bob"', class: 'user', service: 'orders.shop', action: 'PUT', path: '/admin/config', actor: reconciler, headers: { 'x-tenant': 'x' } },
  // alice's admin reads reach the build job acting for her outside shop.
  { principal: 'User::"alice"', class: 'user', service: 'artifacts.registry', action: 'GET', path: '/admin/status', actor: builder },
];

/** The requests a granted cell allows: its probe paths without tags, and numbered routes under each `like "…/*"`. */
function requestsOf(cell: Cell, identity: Identity): Request[] {
  const base = { principal: cell.principal, class: identity.class, service: cell.service, action: cell.action };
  if (cell.access === 'allow') return [{ ...base, path: '/' }];
  return cell.allowedWhen
    .filter((when) => when.tags.length === 0)
    .flatMap((when) => (when.condition?.startsWith('like') && when.path.endsWith('/x') ? [1, 2, 3].map((n) => `${when.path.slice(0, -1)}${n}`) : [when.path]))
    .map((path) => ({ ...base, path }));
}

describe('report --suggest on generated traffic', () => {
  let dir: string;
  let suggested: string;
  let observed: Request[];
  let identities: Identity[];
  let services: string[];
  let cases: Case[];
  let usedCells: Set<string>;
  beforeAll(async () => {
    if (!existsSync(mainScript)) throw new Error(`${mainScript} is missing: run npm run build first`);
    dir = await scratchDir();
    const matrixRun = await gatehouse(['report', '--policies', examplePolicyDir, '--inventory', inventory, '--now', now, '--out', join(dir, 'matrix')]);
    expect(matrixRun.code).toBe(0);
    const matrix = JSON.parse(readFileSync(join(dir, 'matrix', 'report.json'), 'utf8')) as { identities: Identity[]; services: { name: string }[]; matrix: { cells: Cell[] } };
    identities = matrix.identities;
    services = matrix.services.map((service) => service.name);
    const byPrincipal = new Map(identities.map((identity) => [identity.principal, identity]));
    // Every other granted cell is used; the rest of the matrix is not.
    const granted = matrix.matrix.cells.filter((cell) => requestsOf(cell, byPrincipal.get(cell.principal)!).length > 0);
    const used = granted.filter((_, index) => index % 2 === 0);
    expect(used.length).toBeGreaterThan(5);
    expect(granted.length - used.length).toBeGreaterThan(5);
    expect(used.some((cell) => cell.principal.startsWith('User::'))).toBe(true);
    observed = [...used.flatMap((cell) => requestsOf(cell, byPrincipal.get(cell.principal)!)), ...delegated];
    usedCells = new Set(used.map((cell) => `${cell.principal} ${cell.service} ${cell.action}`));
    const log = observed.map((request, index) =>
      JSON.stringify({
        ...JSON.parse(logLine({ time: new Date(Date.parse(now) - (index + 1) * 60_000).toISOString(), principal: request.principal, resource: request.service, action: request.action, decision: 'allow', path: request.path })),
        ...(request.class === 'anonymous' || request.class === 'user' ? {} : { class: request.class }),
        ...(request.actor === undefined ? {} : { actor: `Workload::"${request.actor.spiffe}"`, actorClass: request.actor.class }),
      }),
    );
    await writeFile(join(dir, 'decisions.jsonl'), `${log.join('\n')}\n`);
    suggested = join(dir, 'suggested');
    const run = await gatehouse(['report', '--policies', examplePolicyDir, '--inventory', inventory, '--logs', join(dir, 'decisions.jsonl'), '--now', now, '--out', join(dir, 'review'), '--suggest', suggested]);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    cases = (parse(readFileSync(join(suggested, 'tests', 'observed.yaml'), 'utf8')) as { cases: Case[] }).cases;
  }, 60_000);
  afterAll(removeScratch);

  test('the test file has one deny case per unobserved cell of the inventory matrix, and no other', () => {
    const expected = identities.flatMap((identity) =>
      services.flatMap((service) => actions.filter((action) => !usedCells.has(`${identity.principal} ${service} ${action}`)).map((action) => `unobserved ${identity.principal} ${service} ${action}`)),
    );
    expect(expected.length).toBe(identities.length * services.length * actions.length - usedCells.size);
    expect(cases.filter((c) => c.expect === 'deny').map((c) => c.name)).toEqual(expected);
    // And the observed cells are replayed as allowed requests.
    const caller = (c: Case) => (c.user !== undefined ? `User::"${c.user.subject}"` : c.spiffe === undefined ? 'Anonymous::"anonymous"' : `Workload::"${c.spiffe}"`);
    const allowed = cases.filter((c) => c.expect === 'allow');
    expect(new Set(allowed.filter((c) => c.actor === undefined).map((c) => `${caller(c)} ${c.service} ${c.method}`))).toEqual(usedCells);
    // Delegated use is replayed through its actor, each (principal, actor, service, method) of it.
    const through = (who: string, actor: string | undefined, service: string, method: string) => `${who} via ${actor} ${service} ${method}`;
    expect(new Set(allowed.filter((c) => c.actor !== undefined).map((c) => through(caller(c), c.actor, c.service, c.method)))).toEqual(
      new Set(delegated.map((request) => through(request.principal, request.actor?.spiffe, request.service, request.action))),
    );
  });

  test('gatehouse test passes on the written test file: observed allowed, every unobserved cell denied', async () => {
    const run = await gatehouse(['test', '--policies', suggested, join(suggested, 'tests', 'observed.yaml')]);
    expect({ code: run.code, last: run.stdout.trimEnd().split('\n').at(-1) }).toEqual({ code: 0, last: `${cases.length} passed, 0 failed` });
  });

  test('every observed allowed request is still allowed by the suggestion', async () => {
    const people = new Map((parse(readFileSync(inventory, 'utf8')) as { users: { id: string; groups: string[] }[] }).users.map((user) => [`User::"${user.id}"`, user]));
    const callerOf = (request: Request) => {
      if (request.class === 'anonymous') return { anonymous: true };
      const person = people.get(request.principal);
      if (person !== undefined) return { user: { subject: person.id, groups: [...person.groups] } };
      return { spiffe: request.principal.slice('Workload::"'.length, -1), class: request.class };
    };
    const replay = observed.map((request, index) => ({
      name: `observed ${index}`,
      ...callerOf(request),
      ...(request.actor === undefined ? {} : { actor: request.actor.spiffe, actorClass: request.actor.class }),
      method: request.action,
      path: request.path,
      service: request.service,
      ...(request.headers === undefined ? {} : { headers: request.headers }),
      sourceIp: '10.0.0.1',
      expect: 'allow',
    }));
    const file = join(dir, 'replay.yaml');
    await writeFile(file, stringify({ cases: replay }));
    const run = await gatehouse(['test', '--policies', suggested, file]);
    expect({ code: run.code, last: run.stdout.trimEnd().split('\n').at(-1) }).toEqual({ code: 0, last: `${replay.length} passed, 0 failed` });
  });

  test('the suggested set passes validate and format --check, and diff against it only revokes', async () => {
    expect(await gatehouse(['validate', '--policies', suggested])).toMatchObject({ code: 0, stderr: '' });
    expect(await gatehouse(['format', '--check', '--policies', suggested])).toMatchObject({ code: 0 });
    const diff = await gatehouse(['diff', '--inventory', inventory, examplePolicyDir, suggested]);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toMatch(/^0 granted, \d+ revoked: /m);
    // The inventory's actsFor makes diff probe delegation too: what nobody did through an actor is revoked.
    expect(diff.stdout).toMatch(/^- Workload::"spiffe:\/\/cluster\.local\/ns\/agents\/sa\/assistant" acting for User::"(alice|bob)" tickets\.support HEAD /m);
  });
});
