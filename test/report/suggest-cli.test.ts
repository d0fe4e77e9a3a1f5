/**
 * `gatehouse report --suggest` as a process on a decision log, then the suggested set through
 * `gatehouse validate`, `format --check`, `test` with its own test file, and `diff` against the
 * current set: it may only revoke.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { join } from 'node:path';
import { examplePolicyDir, gatehouse, projectRoot, removeScratch, scratchDir } from '../cli/cli.js';
import { mainScript } from '../support/server-process.js';
import { ids, logLine, principal } from './fixtures.js';

const now = '2025-01-31T12:00:00.000Z';
const at = (hours: number): string => new Date(Date.parse(now) - hours * 3_600_000).toISOString();
const allow = (who: string, resource: string, action: string, path: string, hours = 1, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ ...JSON.parse(logLine({ time: at(hours), principal: who, resource, action, decision: 'allow', path })), ...extra });

const assistant = principal('spiffe://cluster.local/ns/agents/sa/assistant');
const log = [
  ...[1, 2, 3].map((n) => allow(principal(ids.frontend), 'orders.shop', 'GET', `/api/orders/${n}`, n, { class: 'service' })),
  allow(principal(ids.frontend), 'orders.shop', 'GET', '/api/orders', 4, { class: 'service' }),
  allow(principal(ids.checkout), 'orders.shop', 'POST', '/api/orders', 2, { class: 'service' }),
  allow(principal(ids.builder), 'artifacts.registry', 'GET', '/v2/library/nginx/manifests/latest', 2, { class: 'build' }),
  allow(principal(ids.reconciler), 'orders.shop', 'PUT', '/admin/config', 3, { class: 'automation' }),
  allow('Anonymous::"anonymous"', 'catalog.shop', 'GET', '/healthz', 5),
  allow('User::"corp:alice"', 'orders.shop', 'GET', '/admin/status', 5),
  allow('User::"alice"', 'orders.shop', 'GET', '/admin/status', 6),
  ...[7, 8].map((n) => allow('User::"bob"', 'tickets.support', 'GET', `/tickets/${n}`, n, { actor: assistant, actorClass: 'agent' })),
  // Allowed under an older set; the current one never lets the assistant write for anyone.
  allow('User::"bob"', 'tickets.support', 'POST', '/tickets', 9, { actor: assistant, actorClass: 'agent' }),
  logLine({ time: at(1), principal: principal(ids.frontend), resource: 'payments.shop', action: 'GET', decision: 'deny', path: '/api/payments/1' }),
  allow(principal(ids.frontend), 'orders.shop', 'GET', '/api/orders/old', 100, { class: 'service' }),
].join('\n');

describe('gatehouse report --suggest (process)', () => {
  let dir: string;
  let suggested: string;
  let run: Awaited<ReturnType<typeof gatehouse>>;
  const inventory = join(projectRoot, 'examples', 'inventory.yaml');
  beforeAll(async () => {
    if (!existsSync(mainScript)) throw new Error(`${mainScript} is missing: run npm run build first`);
    dir = await scratchDir({ 'decisions.jsonl': `${log}\n` });
    suggested = join(dir, 'suggested');
    run = await gatehouse(['report', '--policies', examplePolicyDir, '--inventory', inventory, '--logs', join(dir, 'decisions.jsonl'), '--since', '24h', '--now', now, '--out', join(dir, 'review'), '--suggest', suggested]);
  });
  afterAll(removeScratch);

  test('writes the suggested set and says what it left out', () => {
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain('suggested 7 policies from the allowed use; 2 allowed uses not suggested');
    for (const name of ['observed.cedar', 'guards.cedar', 'schema.cedarschema', join('tests', 'observed.yaml')]) expect(existsSync(join(suggested, name))).toBe(true);
  });

  test('each permit grants one caller one method on the observed paths, with its evidence', () => {
    const text = readFileSync(join(suggested, 'observed.cedar'), 'utf8');
    expect(text).toContain(`@id("observed-shop-frontend-orders.shop-GET")
@doc("observed 4 requests 2025-01-31..2025-01-31")
permit (
  principal == Workload::"${ids.frontend}",
  action == Action::"GET",
  resource == Service::"orders.shop"
)
when { context.path == "/api/orders" || context.path like "/api/orders/*" };`);
    expect(text).toContain('when { context.path == "/v2/library/nginx/manifests/latest" };');
    expect(text).toContain('principal == Anonymous::"anonymous",');
    expect(text).toMatch(/^\/\/ {3}User::"corp:alice" orders\.shop GET \(1 requests\): a person is suggested only when the inventory lists them/m);
    // Outside the window, and denied: neither is use to grant.
    expect(text).not.toContain('/api/orders/old');
    expect(text).not.toContain('payments.shop');
  });

  test('validate, format --check and its own test file pass', async () => {
    const validate = await gatehouse(['validate', '--policies', suggested]);
    expect(validate).toMatchObject({ code: 0, stderr: '' });
    expect(await gatehouse(['format', '--check', '--policies', suggested])).toMatchObject({ code: 0 });
    // 11 observed requests allowed, and 11 identities × 5 services × 7 methods less the 6 cells of
    // the principals' own use: 379 denied (bob's cells among them: he read only through the assistant).
    const test = await gatehouse(['test', '--policies', suggested, join(suggested, 'tests', 'observed.yaml')]);
    expect({ code: test.code, last: test.stdout.trimEnd().split('\n').at(-1) }).toEqual({ code: 0, last: '390 passed, 0 failed' });
  });

  test('diff of the current set against the suggestion only revokes', async () => {
    const diff = await gatehouse(['diff', '--inventory', inventory, examplePolicyDir, suggested]);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toMatch(/^0 granted, \d+ revoked: /m);
  });

  test('--suggest without --logs is bad usage', async () => {
    const bad = await gatehouse(['report', '--policies', examplePolicyDir, '--inventory', inventory, '--out', join(dir, 'r2'), '--suggest', join(dir, 's2')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--suggest DIR needs --logs');
  });
});

describe('gatehouse report --suggest for people and who acts for them (process)', () => {
  let dir: string;
  let suggested: string;
  const inventory = join(projectRoot, 'examples', 'inventory.yaml');
  beforeAll(async () => {
    dir = await scratchDir({ 'decisions.jsonl': `${log}\n` });
    suggested = join(dir, 'suggested');
    const run = await gatehouse(['report', '--policies', examplePolicyDir, '--inventory', inventory, '--logs', join(dir, 'decisions.jsonl'), '--since', '24h', '--now', now, '--out', join(dir, 'review'), '--suggest', suggested]);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  });
  afterAll(removeScratch);

  test('a person of the inventory is granted in their groups, and use through an actor only through it', () => {
    const text = readFileSync(join(suggested, 'observed.cedar'), 'utf8');
    expect(text).toContain(`permit (
  principal == User::"alice",
  action == Action::"GET",
  resource == Service::"orders.shop"
)
when
{
  principal in Group::"sre" &&
  principal in Group::"staff" &&
  context.path == "/admin/status"
};`);
    expect(text).toContain(`@id("observed-bob-via-agents-assistant-tickets.support-GET")
@doc("observed 2 requests 2025-01-31..2025-01-31")
permit (
  principal == User::"bob",
  action == Action::"GET",
  resource == Service::"tickets.support"
)
when
{
  principal in Group::"staff" &&
  principal in Group::"on-call" &&
  context has actor &&
  context.actor == Workload::"spiffe://cluster.local/ns/agents/sa/assistant" &&
  context.path like "/tickets/*"
};`);
    // Never wider than the current grant: the assistant writes for nobody now.
    expect(text).toMatch(/^\/\/ {3}User::"bob" through Workload::"spiffe:\/\/cluster\.local\/ns\/agents\/sa\/assistant" tickets\.support POST \(1 requests\): the current policies do not allow/m);
  });

  // Regression: a person's row was written as an anonymous caller's deny case.
  test('the test cases state the person and the actor; a person\'s own unobserved cells are denied as that person', () => {
    const cases = (parse(readFileSync(join(suggested, 'tests', 'observed.yaml'), 'utf8')) as { cases: Record<string, unknown>[] }).cases;
    const byName = (name: string) => cases.find((c) => c.name === name);
    expect(byName('observed-bob-via-agents-assistant-tickets.support-GET /tickets/7')).toEqual({
      name: 'observed-bob-via-agents-assistant-tickets.support-GET /tickets/7',
      user: { subject: 'bob', groups: ['staff', 'on-call'] },
      actor: 'spiffe://cluster.local/ns/agents/sa/assistant',
      actorClass: 'agent',
      method: 'GET',
      path: '/tickets/7',
      service: 'tickets.support',
      sourceIp: '10.0.0.1',
      expect: 'allow',
      policies: ['observed-bob-via-agents-assistant-tickets.support-GET'],
    });
    expect(byName('unobserved User::"bob" tickets.support GET')).toEqual({
      name: 'unobserved User::"bob" tickets.support GET',
      user: { subject: 'bob', groups: ['staff', 'on-call'] },
      method: 'GET',
      path: '/tickets/7',
      service: 'tickets.support',
      sourceIp: '10.0.0.1',
      expect: 'deny',
    });
    expect(cases.filter((c) => typeof c.name === 'string' && c.name.startsWith('unobserved User::') && c.anonymous !== undefined)).toEqual([]);
  });
});
