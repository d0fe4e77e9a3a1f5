/**
 * `report --logs` at fleet scale, as a process: two replicas' logs (one gzipped) whose exports
 * overlap, read as files, as a directory, as a glob and from standard input; each decision is
 * counted once.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { ReportJson } from '../../src/report/report.js';
import { examplePolicyDir, gatehouse, projectRoot, removeScratch, scratchDir } from '../cli/cli.js';
import { ids, logLine, principal } from './fixtures.js';

const now = '2025-01-31T12:00:00.000Z';
const inventory = join(projectRoot, 'examples', 'inventory.yaml');
const at = (minutes: number): string => new Date(Date.parse(now) - minutes * 60_000).toISOString();
const line = (minutes: number, id: string, who: string, resource: string, path: string): string =>
  logLine({ time: at(minutes), principal: principal(who), resource, action: 'GET', decision: 'allow', path, decisionId: id });

// Replica a: 3 decisions. Replica b: 3 decisions, the second export of b overlapping the first by one.
const replicaA = [line(50, 'a1', ids.frontend, 'orders.shop', '/api/orders/1'), line(30, 'a2', ids.frontend, 'orders.shop', '/api/orders/2'), line(10, 'a3', ids.frontend, 'orders.shop', '/api/orders')];
const replicaB1 = [line(45, 'b1', ids.builder, 'artifacts.registry', '/v2/x/manifests/1'), line(25, 'b2', ids.builder, 'artifacts.registry', '/v2/x/manifests/2')];
const replicaB2 = [line(25, 'b2', ids.builder, 'artifacts.registry', '/v2/x/manifests/2'), line(5, 'b3', ids.builder, 'artifacts.registry', '/v2/x/manifests/3')];
const text = (lines: readonly string[]): string => `${lines.join('\n')}\n`;

describe('report --logs: files, .gz, directories, globs and stdin from many replicas', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await scratchDir({ 'logs/pod-a.jsonl': text(replicaA), 'logs/pod-b.jsonl': text(replicaB1) });
    await writeFile(join(dir, 'logs', 'pod-b-rotated.jsonl.gz'), gzipSync(text(replicaB2)));
    await mkdir(join(dir, 'empty'));
  });
  afterAll(removeScratch);

  const report = async (logs: readonly string[], input?: string): Promise<ReportJson> => {
    const out = join(dir, `out-${Math.random().toString(36).slice(2)}`);
    const run = await gatehouse(['report', '--policies', examplePolicyDir, '--inventory', inventory, '--logs', ...logs, '--now', now, '--out', out], input === undefined ? {} : { input });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    return JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReportJson;
  };
  const allowed = (json: ReportJson): Record<string, number> => Object.fromEntries((json.logs?.uses ?? []).map((use) => [use.service, use.allow]));

  test('two replicas, one gzipped, with an overlapping duplicate: each decision counted once', async () => {
    const json = await report([join(dir, 'logs', 'pod-a.jsonl'), join(dir, 'logs', 'pod-b.jsonl'), join(dir, 'logs', 'pod-b-rotated.jsonl.gz')]);
    expect(json.logs?.decisions).toBe(6);
    expect(allowed(json)).toEqual({ 'orders.shop': 3, 'artifacts.registry': 3 });
    expect(json.logs?.files.map((file) => [file.name.slice(dir.length + 1), file.lines, file.inWindow, file.duplicates])).toEqual([
      ['logs/pod-a.jsonl', 3, 3, 0],
      ['logs/pod-b.jsonl', 2, 2, 0],
      ['logs/pod-b-rotated.jsonl.gz', 2, 1, 1],
    ]);
    expect(json.logs?.uses.find((use) => use.service === 'artifacts.registry')).toMatchObject({ firstSeen: at(45), lastSeen: at(5) });
  });

  test('a directory stands for every file in it, in name order', async () => {
    const json = await report([join(dir, 'logs')]);
    expect(json.logs?.files.map((file) => file.name.slice(dir.length + 1))).toEqual(['logs/pod-a.jsonl', 'logs/pod-b-rotated.jsonl.gz', 'logs/pod-b.jsonl']);
    expect(allowed(json)).toEqual({ 'orders.shop': 3, 'artifacts.registry': 3 });
  });

  test('a glob (quoted, so gatehouse expands it), and a file named twice is read once', async () => {
    const json = await report([join(dir, 'logs', 'pod-b*'), join(dir, 'logs', 'pod-b.jsonl')]);
    expect(json.logs?.files.map((file) => file.name.slice(dir.length + 1))).toEqual(['logs/pod-b-rotated.jsonl.gz', 'logs/pod-b.jsonl']);
    expect(allowed(json)).toEqual({ 'artifacts.registry': 3 });
  });

  // Each log is in time order, as a replica writes it: the merge relies on it.
  test('standard input beside files, merged and deduplicated with them', async () => {
    const json = await report(['-', join(dir, 'logs', 'pod-b.jsonl')], text([replicaA[0]!, replicaA[1]!, replicaB2[0]!, replicaA[2]!, replicaB2[1]!]));
    expect(json.logs?.files.map((file) => [file.name.replace(dir, ''), file.inWindow, file.duplicates])).toEqual([
      ['(stdin)', 5, 0],
      ['/logs/pod-b.jsonl', 1, 1],
    ]);
    expect(json.logs?.decisions).toBe(6);
  });

  test('a glob that matches nothing, an empty directory and a corrupt .gz are input errors (exit 1)', async () => {
    const args = (logs: string[]) => ['report', '--policies', examplePolicyDir, '--inventory', inventory, '--logs', ...logs, '--now', now, '--out', join(dir, 'never')];
    const none = await gatehouse(args([join(dir, 'logs', '*.nothing'), join(dir, 'empty')]));
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(`gatehouse report: ${join(dir, 'logs', '*.nothing')}: no file matches\ngatehouse report: ${join(dir, 'empty')}: is a directory with no file in it\n`);
    await writeFile(join(dir, 'broken.jsonl.gz'), 'not gzip at all');
    const broken = await gatehouse(args([join(dir, 'broken.jsonl.gz')]));
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`gatehouse report: cannot read the decision log ${join(dir, 'broken.jsonl.gz')}: incorrect header check`);
  });
});
