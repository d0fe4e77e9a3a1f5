/**
 * Reloading from a real directory with real timers: every way a policy directory changes in
 * practice must reach the store within 2 s, and nothing but a fully valid set may replace the
 * one in use.
 */
import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PolicyProblem } from '../../src/policy/problem.js';
import { formatProblem } from '../../src/policy/problem.js';
import { PolicyStore } from '../../src/policy/store.js';
import { exampleSchema } from './policy-fixtures.js';

const permit = (id: string): string => `@id("${id}")\npermit (principal, action, resource);\n`;

interface Harness {
  readonly dir: string;
  readonly store: PolicyStore;
  readonly reloaded: string[];
  readonly failed: (readonly PolicyProblem[])[];
}

let harnesses: Harness[] = [];
let scratch: string;

beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'gatehouse-store-'));
});

afterEach(async () => {
  for (const harness of harnesses) harness.store.stop();
  harnesses = [];
  await rm(scratch, { recursive: true, force: true });
});

async function writeSet(dir: string, files: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
}

async function started(dir: string): Promise<Harness> {
  const store = new PolicyStore(dir);
  const harness: Harness = { dir, store, reloaded: [], failed: [] };
  store.on('reloaded', (version) => harness.reloaded.push(version));
  store.on('reloadFailed', (problems) => harness.failed.push(problems));
  harnesses.push(harness);
  await store.start();
  return harness;
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<number> {
  const began = Date.now();
  while (!condition()) {
    if (Date.now() - began > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - began;
}

const ids = (store: PolicyStore): string[] | undefined => store.current()?.policies.map((p) => p.id);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('PolicyStore', () => {
  test('loads the directory at start', async () => {
    const dir = join(scratch, 'policies');
    await writeSet(dir, { 'schema.cedarschema': exampleSchema, 'a.cedar': permit('a'), 'b.cedar': permit('b') });
    const { store, reloaded, failed } = await started(dir);
    expect(ids(store)).toEqual(['a', 'b']);
    expect(reloaded).toEqual([store.current()?.version]);
    expect(failed).toEqual([]);
    expect(store.lastError()).toBeUndefined();
  });

  test.each([
    { change: 'an edit in place', apply: (dir: string) => writeFile(join(dir, 'a.cedar'), permit('a2')), expected: ['a2', 'b'] },
    { change: 'a new file', apply: (dir: string) => writeFile(join(dir, 'c.cedar'), permit('c')), expected: ['a', 'b', 'c'] },
    { change: 'a deleted file', apply: (dir: string) => unlink(join(dir, 'b.cedar')), expected: ['a'] },
    {
      change: 'rename-on-save',
      apply: async (dir: string) => {
        await writeFile(join(dir, '.a.cedar.swp'), permit('a-saved'));
        await rename(join(dir, '.a.cedar.swp'), join(dir, 'a.cedar'));
      },
      expected: ['a-saved', 'b'],
    },
  ])('$change is seen within 2 s', async ({ apply, expected }) => {
    const dir = join(scratch, 'policies');
    await writeSet(dir, { 'schema.cedarschema': exampleSchema, 'a.cedar': permit('a'), 'b.cedar': permit('b') });
    const { store, reloaded } = await started(dir);
    const before = store.current()?.version;
    await apply(dir);
    await waitFor(`policies ${expected.join(', ')}`, () => JSON.stringify(ids(store)) === JSON.stringify(expected), 2000);
    expect(store.current()?.version).not.toBe(before);
    expect(reloaded).toHaveLength(2);
  });

  test('a Kubernetes ConfigMap update (atomic ..data swap) is seen, new keys included', async () => {
    const dir = join(scratch, 'configmap');
    const mount = async (stamp: string, files: Record<string, string>): Promise<void> => {
      await writeSet(join(dir, stamp), files);
      await symlink(stamp, join(dir, '..data_tmp'));
      await rename(join(dir, '..data_tmp'), join(dir, '..data'));
      for (const name of Object.keys(files)) await symlink(join('..data', name), join(dir, name)).catch(() => undefined);
    };
    await mkdir(dir);
    await mount('..2026_01_01_00_00_00.1', { 'schema.cedarschema': exampleSchema, 'a.cedar': permit('a') });
    const { store } = await started(dir);
    expect(ids(store)).toEqual(['a']);

    await mount('..2026_01_01_00_01_00.2', { 'schema.cedarschema': exampleSchema, 'a.cedar': permit('a-v2'), 'b.cedar': permit('b') });
    await rm(join(dir, '..2026_01_01_00_00_00.1'), { recursive: true });
    await waitFor('the swapped set', () => JSON.stringify(ids(store)) === '["a-v2","b"]', 2000);
  });

  test('a file edited behind a symlink, which fs.watch on the directory cannot see, is caught by the poll', async () => {
    const dir = join(scratch, 'policies');
    const elsewhere = join(scratch, 'elsewhere');
    await writeSet(dir, { 'schema.cedarschema': exampleSchema });
    await writeSet(elsewhere, { 'a.cedar': permit('a') });
    await symlink(join(elsewhere, 'a.cedar'), join(dir, 'a.cedar'));
    const { store } = await started(dir);
    await writeFile(join(elsewhere, 'a.cedar'), permit('a-edited'));
    await waitFor('the edited policy', () => ids(store)?.[0] === 'a-edited', 2000);
  });

  test('a broken file keeps the last good set, reports FILE:LINE:COL once, and recovers when fixed', async () => {
    const dir = join(scratch, 'policies');
    await writeSet(dir, { 'schema.cedarschema': exampleSchema, 'a.cedar': permit('a') });
    const { store, failed, reloaded } = await started(dir);
    const good = store.current();

    await writeFile(join(dir, 'b.cedar'), permit('b') + '\npermit (principal, action, resourc);\n');
    await waitFor('the failure', () => failed.length > 0, 2000);
    expect(store.current()).toBe(good);
    expect(store.lastError()?.map(formatProblem)).toEqual([
      `${join(dir, 'b.cedar')}:4:28: failed to parse policy from string: found an invalid variable in the policy scope: resourc (policy scopes must contain a \`principal\`, \`action\`, and \`resource\` element in that order)`,
    ]);
    // An unchanged broken directory is not rebuilt and reported every poll.
    await sleep(2200);
    expect(failed).toHaveLength(1);

    await writeFile(join(dir, 'b.cedar'), permit('b'));
    await waitFor('the fixed set', () => ids(store)?.length === 2, 2000);
    expect(store.lastError()).toBeUndefined();
    expect(reloaded).toHaveLength(2);
  });

  test('a deleted schema keeps the last good set', async () => {
    const dir = join(scratch, 'policies');
    await writeSet(dir, { 'schema.cedarschema': exampleSchema, 'a.cedar': permit('a') });
    const { store, failed } = await started(dir);
    const good = store.current();
    await unlink(join(dir, 'schema.cedarschema'));
    await waitFor('the failure', () => failed.length > 0, 2000);
    expect(store.current()).toBe(good);
    expect(store.lastError()?.map(formatProblem)).toEqual([`${join(dir, 'schema.cedarschema')}: the schema is missing`]);
  });

  test('a directory that disappears keeps the last good set; when it comes back it is followed again', async () => {
    const dir = join(scratch, 'policies');
    await writeSet(dir, { 'schema.cedarschema': exampleSchema, 'a.cedar': permit('a') });
    const { store, failed } = await started(dir);
    const good = store.current();
    await rm(dir, { recursive: true });
    await waitFor('the failure', () => failed.length > 0, 2000);
    expect(store.current()).toBe(good);
    expect(store.lastError()?.[0]?.message).toMatch(/^cannot read the policy directory: ENOENT/);

    await writeSet(dir, { 'schema.cedarschema': exampleSchema, 'b.cedar': permit('b') });
    await waitFor('the new set', () => ids(store)?.[0] === 'b', 2000);
    await writeFile(join(dir, 'b.cedar'), permit('b2'));
    await waitFor('an edit in the new directory', () => ids(store)?.[0] === 'b2', 2000);
  });

  test.each([
    { start: 'no directory', prepare: async () => undefined },
    { start: 'an empty directory (no schema)', prepare: (dir: string) => mkdir(dir) },
    { start: 'an invalid policy', prepare: (dir: string) => writeSet(dir, { 'schema.cedarschema': exampleSchema, 'a.cedar': 'permit' }) },
  ])('no valid set at start ($start): nothing to decide with, then recovery within 2 s', async ({ prepare }) => {
    const dir = join(scratch, 'policies');
    await prepare(dir);
    const { store, failed } = await started(dir);
    expect(store.current()).toBeUndefined();
    expect(failed).toHaveLength(1);
    expect(store.lastError()?.length).toBeGreaterThan(0);

    await writeSet(dir, { 'schema.cedarschema': exampleSchema, 'a.cedar': permit('a') });
    await waitFor('recovery', () => store.current() !== undefined, 2000);
    expect(ids(store)).toEqual(['a']);
    expect(store.lastError()).toBeUndefined();
  });

  test('zero policy files is a valid set', async () => {
    const dir = join(scratch, 'policies');
    await writeSet(dir, { 'schema.cedarschema': exampleSchema });
    const { store } = await started(dir);
    expect(ids(store)).toEqual([]);
  });

  test('after stop() the directory is no longer followed', async () => {
    const dir = join(scratch, 'policies');
    await writeSet(dir, { 'schema.cedarschema': exampleSchema, 'a.cedar': permit('a') });
    const { store, reloaded } = await started(dir);
    store.stop();
    await writeFile(join(dir, 'a.cedar'), permit('a2'));
    await sleep(1500);
    expect(ids(store)).toEqual(['a']);
    expect(reloaded).toHaveLength(1);
  });
});
