/**
 * A set large enough to be parsed and validated in threads (500 policies or more), through the
 * real server: it loads and decides; a reload that breaks one policy deep in a file keeps the
 * last good set deciding and names that policy's FILE:LINE:COL; a valid change loads. A load
 * whose threads fail falls back to the caller's thread with the same result, so the threads of
 * the built modules are also started on their own here.
 */
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRequest, frontend, GatehouseClient, headerValue, statusCode } from '../support/check-client.js';
import { cleanup, copyExamplePolicies, httpGet, projectRoot, scratchDir, startGatehouse, waitFor, type ServerProcess } from '../support/server-process.js';

interface Readiness {
  readonly ready: boolean;
  readonly policyVersion: string | null;
  readonly reloadErrors: readonly string[];
}

const count = 1_000;

function filler(i: number): string {
  return `@id("team${i}")\npermit (\n  principal == Workload::"spiffe://cluster.local/ns/team${i}/sa/client",\n  action in Action::"read",\n  resource == Service::"api.team${i}"\n) when { context.path like "/api/*" };\n`;
}

let dir: string;
let server: ServerProcess;
let client: GatehouseClient;

beforeAll(async () => {
  dir = await copyExamplePolicies();
  await writeFile(join(dir, 'teams.cedar'), Array.from({ length: count }, (_, i) => filler(i)).join('\n'));
  server = await startGatehouse({ policies: dir, readyTimeoutMs: 120_000 });
  client = new GatehouseClient(server.grpcTarget);
}, 150_000);

afterAll(async () => {
  client.close();
  await server.stop();
  await cleanup();
});

async function readiness(): Promise<Readiness> {
  return JSON.parse((await httpGet(server, '/readyz')).body) as Readiness;
}

/** The frontend reading an order is allowed by shop.cedar; the decision line names the version that decided. */
async function frontendReadsOrders(): Promise<string> {
  const response = await client.check(checkRequest({ principal: frontend, path: '/api/orders/1' }));
  expect(statusCode(response)).toBe(0);
  const line = await server.decision(headerValue(response, 'x-gatehouse-decision-id')!);
  expect(line).toMatchObject({ decision: 'allow', policies: ['frontend-reads-orders'] });
  return line.policyVersion as string;
}

test(`${count} more policies load and decide; a broken one keeps the last good set and is named at its line and column; a valid change loads`, async () => {
  const good = await readiness();
  expect(good).toMatchObject({ ready: true, reloadErrors: [] });
  expect(await frontendReadsOrders()).toBe(good.policyVersion);

  const file = join(dir, 'teams.cedar');
  const text = await readFile(file, 'utf8');
  const broken = text.replace('@id("team777")\npermit (\n  principal == Workload::"spiffe://cluster.local/ns/team777/sa/client",\n  action in Action::"read",\n  resource == Service::"api.team777"\n) when { context.path', (found) => found.replace(/context\.path$/, 'context.nosuch'));
  expect(broken).not.toBe(text);
  await writeFile(file, broken);
  const at = broken.indexOf('context.nosuch');
  const line = broken.slice(0, at).split('\n').length;
  const col = at - broken.lastIndexOf('\n', at - 1);
  const failed = await waitFor('the reload error', async () => {
    const now = await readiness();
    return now.reloadErrors.length > 0 ? now : undefined;
  }, 120_000, 200);
  expect(failed.policyVersion).toBe(good.policyVersion);
  expect(failed.reloadErrors.length).toBeGreaterThan(0);
  for (const error of failed.reloadErrors) expect(error).toMatch(new RegExp(`teams\\.cedar:${line}:${col}: for policy \`team777\`, attribute \`nosuch\``));
  expect(await frontendReadsOrders()).toBe(good.policyVersion);

  await writeFile(file, text.replace('ns/team3/sa/client', 'ns/team3/sa/other'));
  const changed = await waitFor('the changed set to load', async () => {
    const now = await readiness();
    return now.reloadErrors.length === 0 && now.policyVersion !== good.policyVersion ? now : undefined;
  }, 120_000, 200);
  expect(await frontendReadsOrders()).toBe(changed.policyVersion);
}, 400_000);

describe('the built threads start whatever module type the process runs with (threads inherit its flags)', () => {
  const threads = join(projectRoot, 'dist', 'src', 'policy', 'cedar', 'threads.js');
  const script = `import { CedarThreads } from ${JSON.stringify(threads)};
const threads = new CedarThreads(2);
const answers = await threads.toJson(['permit (principal, action, resource);', 'permit (principal action, resource);']);
await threads.close();
process.stdout.write(answers.map((answer) => answer.type).join(','));`;

  test('a script file, no flags', async () => {
    const file = join(await scratchDir('threads'), 'probe.mjs');
    await writeFile(file, script);
    expect(execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 })).toBe('success,failure');
  }, 90_000);

  test('--input-type=module -e', () => {
    expect(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 })).toBe('success,failure');
  }, 90_000);
});
