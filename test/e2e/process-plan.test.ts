/**
 * `serve` sizes itself to the memory budget (src/serve/process-plan.ts): the real process starts
 * again under the same pid with V8's heap flags, says its plan, and leaves an operator's own
 * NODE_OPTIONS flags alone. A 300 MiB budget holds one worker on any machine.
 */
import { readFileSync } from 'node:fs';
import { cleanup, startGatehouse, type ServerProcess } from '../support/server-process.js';

afterAll(cleanup);

function nodeArgs(server: ServerProcess): string[] {
  const argv = readFileSync(`/proc/${server.child.pid}/cmdline`, 'utf8').split('\0');
  return argv.slice(1, argv.findIndex((arg) => arg.endsWith('main.js')));
}

function plan(server: ServerProcess): Record<string, unknown> | undefined {
  return server.opsLog().find((line) => line.message === 'process plan');
}

test('with no worker count given, one process runs under the budget with the heap flags, same pid', async () => {
  const server = await startGatehouse({ workers: 'planned', configYaml: 'memoryBudgetMiB: 300\n' });
  expect(nodeArgs(server)).toEqual(['--max-semi-space-size=16', '--max-old-space-size=256']);
  expect(plan(server)).toMatchObject({ workers: 1, workersFrom: 'memory budget', budgetMiB: 300, budgetFrom: 'config', semiSpaceMiB: 16, oldSpaceMiB: 256 });
  expect(server.stderr).not.toContain('"workers":2');
  expect(await server.stop('SIGTERM')).toBe(0);
});

test('a flag in NODE_OPTIONS stands; only the other is added', async () => {
  const server = await startGatehouse({ workers: 'planned', configYaml: 'memoryBudgetMiB: 300\n', env: { NODE_OPTIONS: '--max-semi-space-size=32' } });
  expect(nodeArgs(server)).toEqual(['--max-old-space-size=256']);
  expect(plan(server)).toMatchObject({ v8Flags: ['--max-old-space-size=256'] });
  expect(await server.stop('SIGTERM')).toBe(0);
});

test('workers inherit the flags from the primary', async () => {
  const server = await startGatehouse({ workers: 2, configYaml: 'memoryBudgetMiB: 1024\n', readyTimeoutMs: 30_000 });
  expect(nodeArgs(server)).toEqual(['--max-semi-space-size=16', '--max-old-space-size=256']);
  const children = readFileSync(`/proc/${server.child.pid}/task/${server.child.pid}/children`, 'utf8').trim().split(/\s+/);
  expect(children).toHaveLength(2);
  for (const pid of children) expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining(['--max-semi-space-size=16', '--max-old-space-size=256']));
  const code = await server.stop('SIGTERM');
  expect({ code, stderr: server.stderr }).toEqual({ code: 0, stderr: server.stderr });
});
