/**
 * The policy directory breaks while the server runs: deleted, a file that cannot be read (a
 * directory or a FIFO in its place, or chmod 000 where the user is not root), a file caught
 * half-written. The last good set stays in use (Checks are decided with its version, and a
 * request only it allows stays allowed), /readyz names the reload errors, and when the directory
 * is whole again the server follows it.
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { checkRequest, frontend, GatehouseClient, headerValue, statusCode } from '../support/check-client.js';
import { cleanup, copyExamplePolicies, httpGet, startGatehouse, waitFor, type ServerProcess } from '../support/server-process.js';

interface Readiness {
  readonly ready: boolean;
  readonly policyVersion: string | null;
  readonly reloadErrors: readonly string[];
}

let dir: string;
let server: ServerProcess;
let client: GatehouseClient;
let goodVersion: string;

beforeEach(async () => {
  dir = await copyExamplePolicies();
  server = await startGatehouse({ policies: dir });
  client = new GatehouseClient(server.grpcTarget);
  goodVersion = (await readiness()).policyVersion!;
  expect(goodVersion).toEqual(expect.any(String));
});

afterEach(async () => {
  client.close();
  await server.stop();
});

afterAll(cleanup);

async function readiness(): Promise<Readiness & { status: number }> {
  const response = await httpGet(server, '/readyz');
  return { status: response.status, ...(JSON.parse(response.body) as Readiness) };
}

/** Waits until /readyz reports a reload error matching `pattern`. */
async function reloadErrorSoon(pattern: RegExp): Promise<Readiness & { status: number }> {
  return waitFor(`a reload error matching ${pattern}`, async () => {
    const report = await readiness();
    return report.reloadErrors.some((error) => pattern.test(error)) ? report : undefined;
  }, 10_000, 100);
}

/** The frontend reading an order is allowed only by shop.cedar: if it is allowed, shop.cedar's set is in use. */
async function expectStillDecidingWithGoodSet(): Promise<void> {
  const response = await client.check(checkRequest({ principal: frontend, path: '/api/orders/1' }));
  expect(statusCode(response)).toBe(0);
  const line = await server.decision(headerValue(response, 'x-gatehouse-decision-id')!);
  expect(line).toMatchObject({ decision: 'allow', policies: ['frontend-reads-orders'], policyVersion: goodVersion });
  const report = await readiness();
  expect(report).toMatchObject({ status: 200, ready: true, policyVersion: goodVersion });
}

/** After a repair: no reload errors, and the good set (the same texts, so the same version) in use. */
async function recoveredSoon(): Promise<void> {
  await waitFor('the repaired set to load', async () => {
    const now = await readiness();
    return now.reloadErrors.length === 0 && now.policyVersion === goodVersion ? now : undefined;
  }, 10_000, 100);
  await expectStillDecidingWithGoodSet();
}

test('the policy directory deleted: last good set kept, /readyz names the error; recreated with a new policy: the new set is used', async () => {
  const saved = `${dir}.saved`;
  await rename(dir, saved);
  const report = await reloadErrorSoon(/cannot read the policy directory/);
  expect(report).toMatchObject({ status: 200, ready: true, policyVersion: goodVersion });
  await expectStillDecidingWithGoodSet();

  await rename(saved, dir);
  await writeFile(join(dir, 'extra.cedar'), '@id("extra-frontend-reads-reports")\npermit (principal == Workload::"spiffe://cluster.local/ns/shop/sa/frontend", action == Action::"GET", resource == Service::"reports.shop");\n');
  const next = await waitFor('a new version', async () => {
    const now = await readiness();
    return now.policyVersion !== goodVersion && now.reloadErrors.length === 0 ? now : undefined;
  }, 10_000, 100);
  const response = await client.check(checkRequest({ principal: frontend, path: '/x', service: 'reports.shop' }));
  expect(statusCode(response)).toBe(0);
  expect(await server.decision(headerValue(response, 'x-gatehouse-decision-id')!)).toMatchObject({ policyVersion: next.policyVersion });
});

test('a policy file replaced by a directory (unreadable): last good set kept, /readyz names the file; restored: recovered', async () => {
  const file = join(dir, 'shop.cedar');
  const text = await readFile(file);
  await rm(file);
  await mkdir(file);
  const report = await reloadErrorSoon(/shop\.cedar.*not a regular file/);
  expect(report.policyVersion).toBe(goodVersion);
  await expectStillDecidingWithGoodSet();

  await rm(file, { recursive: true });
  await writeFile(file, text);
  await recoveredSoon();
});

describe('bug: a FIFO in place of a policy file blocked the reload forever (every later reload, and the exit on SIGTERM, waited for it)', () => {
  // In one step: between a removal and the mkfifo, a reload could load the set without the file.
  async function replaceWithFifo(file: string): Promise<void> {
    const fifo = `${file}.fifo`;
    execFileSync('mkfifo', [fifo]);
    await rename(fifo, file);
  }

  test('the reload reports the file; last good set kept; restored: recovered', async () => {
    const file = join(dir, 'shop.cedar');
    const text = await readFile(file);
    await replaceWithFifo(file);
    const report = await reloadErrorSoon(/shop\.cedar.*not a regular file/);
    expect(report.policyVersion).toBe(goodVersion);
    await expectStillDecidingWithGoodSet();

    await rm(file);
    await writeFile(file, text);
    await recoveredSoon();
  });

  test('SIGTERM with the FIFO still there: exit 0 within the grace period', async () => {
    await replaceWithFifo(join(dir, 'shop.cedar'));
    await reloadErrorSoon(/shop\.cedar/);
    expect(await server.stop('SIGTERM', 10_000)).toBe(0);
  });
});

// Root reads a file whatever its mode, so chmod 000 cannot make it unreadable there; the
// directory and FIFO cases above make reads fail for root too.
const rootIgnoresModes = process.getuid?.() === 0;
(rootIgnoresModes ? test.skip : test)('a policy file made unreadable (chmod 000; skipped when running as root, which reads it anyway): last good set kept; readable again: recovered', async () => {
  const file = join(dir, 'shop.cedar');
  await chmod(file, 0o000);
  const report = await reloadErrorSoon(/shop\.cedar.*(EACCES|permission denied)/i);
  expect(report.policyVersion).toBe(goodVersion);
  await expectStillDecidingWithGoodSet();
  await chmod(file, 0o644);
  await recoveredSoon();
});

test('a policy file caught half-written: last good set kept, /readyz names the file and line; completed: the same version again', async () => {
  const file = join(dir, 'shop.cedar');
  const text = await readFile(file, 'utf8');
  await writeFile(file, text.slice(0, Math.floor(text.length / 2)));
  const report = await reloadErrorSoon(/shop\.cedar:\d+:\d+/);
  expect(report.policyVersion).toBe(goodVersion);
  await expectStillDecidingWithGoodSet();

  await writeFile(file, text);
  await recoveredSoon();
});
