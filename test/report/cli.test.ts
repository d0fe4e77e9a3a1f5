import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReportJson } from '../../src/report/report.js';
import { examplePolicyDir, mainScript, projectRoot } from '../support/server-process.js';
import { exampleInventoryYaml, ids, logLine, principal, scratch } from './fixtures.js';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `gatehouse report …` as a process, from dist/ (npm test builds first). */
function gatehouse(args: readonly string[], stdin = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainScript, 'report', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

const now = '2025-01-31T12:00:00.000Z';
const hoursAgo = (hours: number) => new Date(Date.parse(now) - hours * 3_600_000).toISOString();
const stranger = 'Workload::"spiffe://cluster.local/ns/shop/sa/scraper"';

const firstLog = [
  logLine({ time: hoursAgo(1), principal: principal(ids.frontend), resource: 'orders.shop', action: 'GET', decision: 'allow', policies: ['frontend-reads-orders'], path: '/api/orders/1' }),
  logLine({ time: hoursAgo(2), principal: principal(ids.frontend), resource: 'orders.shop', action: 'GET', decision: 'allow', policies: ['frontend-reads-orders'], path: '/api/orders/2' }),
  logLine({ time: hoursAgo(3), principal: stranger, resource: 'catalog.shop', action: 'GET', decision: 'deny' }),
  'this is not a decision',
  logLine({ time: hoursAgo(48), principal: principal(ids.checkout), resource: 'payments.shop', action: 'POST', decision: 'allow', policies: ['checkout-charges-payments'] }),
].join('\n');
const secondLog = Array.from({ length: 4 }, (_, i) =>
  logLine({ time: hoursAgo(5 + i), principal: principal(ids.builder), resource: 'orders.shop', action: 'POST', decision: 'deny', policies: ['no-build-jobs-in-shop'] }),
).join('\n');

describe('the sample inventory, examples/inventory.yaml', () => {
  const inventoryFile = join(projectRoot, 'examples', 'inventory.yaml');
  let dir: Awaited<ReturnType<typeof scratch>>;
  beforeAll(async () => {
    if (!existsSync(mainScript)) throw new Error(`${mainScript} is missing: run npm run build first`);
    dir = await scratch('sample');
  });
  afterAll(async () => {
    await dir.remove();
  });

  test('names every workload and service the shipped policies name', () => {
    const policies = readdirSync(examplePolicyDir)
      .filter((name) => name.endsWith('.cedar'))
      .map((name) => readFileSync(join(examplePolicyDir, name), 'utf8'))
      .join('\n');
    const named = (type: string) => [...new Set([...policies.matchAll(new RegExp(`${type}::"([^"]+)"`, 'g'))].map((match) => match[1]!))].sort();
    const inventory = readFileSync(inventoryFile, 'utf8');
    const listed = (pattern: RegExp) => [...inventory.matchAll(pattern)].map((match) => match[1]!).sort();
    expect(listed(/spiffeId: "([^"]+)"/g)).toEqual(expect.arrayContaining(named('Workload')));
    expect(listed(/^ {2}- "([^"]+)"$/gm)).toEqual(named('Service'));
  });

  test('gatehouse report runs with it on the shipped policies, and shows traffic outside it', async () => {
    const builder = 'Workload::"spiffe://cluster.local/ns/ci/sa/builder"';
    const log = [
      logLine({ time: hoursAgo(1), principal: principal(ids.frontend), resource: 'orders.shop', action: 'GET', decision: 'allow', policies: ['frontend-reads-orders'], path: '/api/orders/7' }),
      logLine({ time: hoursAgo(2), principal: principal(ids.frontend), resource: 'ledger.finance', action: 'GET', decision: 'deny' }),
      // A server that classed the build job as a service: its guards against build jobs did not apply.
      JSON.stringify({ ...JSON.parse(logLine({ time: hoursAgo(3), principal: builder, resource: 'artifacts.registry', action: 'GET', decision: 'allow', policies: ['ci-builder-pulls-artifacts'] })), class: 'service' }),
      // And acting for alice as a service: build-jobs-never-act-in-shop would not have applied.
      logLine({ time: hoursAgo(4), principal: 'User::"alice"', actor: builder, actorClass: 'service', resource: 'artifacts.registry', action: 'GET', decision: 'allow', policies: ['sre-reads-admin'], path: '/admin/status' }),
    ].join('\n');
    await dir.write('decisions.jsonl', `${log}\n`);
    const out = join(dir.dir, 'out');
    const run = await gatehouse(['--policies', examplePolicyDir, '--inventory', inventoryFile, '--logs', join(dir.dir, 'decisions.jsonl'), '--now', now, '--out', out]);
    expect(run).toMatchObject({ code: 0, stderr: '' });

    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as ReportJson;
    expect(report.inventory).toMatchObject({ workloads: 7, services: 5 });
    expect(report.matrix.errors).toEqual([]);
    expect(report.unknownServices).toEqual([expect.objectContaining({ name: 'ledger.finance', namespace: 'finance', deny: 1, callers: 1 })]);
    expect(report.findings).toContainEqual(expect.objectContaining({ kind: 'unknown-service', severity: 'low', service: 'ledger.finance' }));
    expect(report.findings).toContainEqual(expect.objectContaining({ kind: 'class-mismatch', severity: 'high', principal: builder, inventoryClass: 'build', loggedClasses: { service: 1 } }));
    expect(report.findings.filter((finding) => finding.kind === 'actor-class-mismatch')).toEqual([
      {
        kind: 'actor-class-mismatch',
        severity: 'high',
        message: `${builder} is "build" in the inventory but the server logged it acting for others as "service" in 1 acting-for decision`,
        actor: builder,
        inventoryClass: 'build',
        loggedClasses: { service: 1 },
      },
    ]);
    expect(report.findings.filter((finding) => finding.kind === 'unknown-identity')).toEqual([]);
    expect(await readFile(join(out, 'report.md'), 'utf8')).toContain('| ledger.finance | 0 | 1 | 0 | 1 |');
    expect(await readFile(join(out, 'report.html'), 'utf8')).toContain('<td class="mono">ledger.finance</td>');
  });
});

describe('who acted for whom (process, the shipped policies and sample inventory)', () => {
  const inventoryFile = join(projectRoot, 'examples', 'inventory.yaml');
  const assistant = principal('spiffe://cluster.local/ns/agents/sa/assistant');
  const builder = principal(ids.builder);
  const alice = 'User::"alice"';
  const bob = 'User::"bob"';
  let dir: Awaited<ReturnType<typeof scratch>>;
  beforeAll(async () => {
    if (!existsSync(mainScript)) throw new Error(`${mainScript} is missing: run npm run build first`);
    dir = await scratch('acting-for');
  });
  afterAll(async () => {
    await dir.remove();
  });

  test('report.json, report.md and report.html show each edge and how often; a build job writing for a person is a high finding, an agent a medium one', async () => {
    const log = [
      logLine({ time: hoursAgo(1), principal: alice, actor: assistant, actorClass: 'agent', resource: 'tickets.support', action: 'GET', decision: 'allow', policies: ['assistant-reads-tickets-for-staff'] }),
      logLine({ time: hoursAgo(2), principal: alice, actor: assistant, actorClass: 'agent', resource: 'tickets.support', action: 'GET', decision: 'allow', policies: ['assistant-reads-tickets-for-staff'] }),
      logLine({ time: hoursAgo(3), principal: alice, actor: assistant, actorClass: 'agent', resource: 'tickets.support', action: 'POST', decision: 'deny' }),
      // Under an older, looser policy set the assistant wrote for alice.
      logLine({ time: hoursAgo(4), principal: alice, actor: assistant, actorClass: 'agent', resource: 'tickets.support', action: 'PATCH', decision: 'allow', policies: ['old-assistant-writes'] }),
      logLine({ time: hoursAgo(5), principal: bob, actor: builder, actorClass: 'build', resource: 'orders.shop', action: 'POST', decision: 'deny', policies: ['build-jobs-never-act-in-shop'] }),
      // An older server that logged no actorClass: the inventory says the builder is a build job.
      logLine({ time: hoursAgo(6), principal: bob, actor: builder, resource: 'artifacts.registry', action: 'PUT', decision: 'allow', policies: ['old-ci-publishes'] }),
      logLine({ time: hoursAgo(7), principal: principal(ids.frontend), resource: 'orders.shop', action: 'GET', decision: 'allow', policies: ['frontend-reads-orders'] }),
    ].join('\n');
    const logFile = await dir.write('decisions.jsonl', `${log}\n`);
    const out = join(dir.dir, 'out');
    const run = await gatehouse(['--policies', examplePolicyDir, '--inventory', inventoryFile, '--logs', logFile, '--now', now, '--out', out]);
    expect(run).toMatchObject({ code: 0, stderr: '' });

    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as ReportJson;
    const at = (hours: number) => ({ firstSeen: hoursAgo(hours), lastSeen: hoursAgo(hours) });
    expect(report.logs?.actingFor).toEqual({
      edges: [
        { actor: assistant, actorClass: 'agent', principal: alice, service: 'tickets.support', action: 'GET', allow: 2, deny: 0, error: 0, firstSeen: hoursAgo(2), lastSeen: hoursAgo(1) },
        { actor: assistant, actorClass: 'agent', principal: alice, service: 'tickets.support', action: 'PATCH', allow: 1, deny: 0, error: 0, ...at(4) },
        { actor: assistant, actorClass: 'agent', principal: alice, service: 'tickets.support', action: 'POST', allow: 0, deny: 1, error: 0, ...at(3) },
        { actor: builder, actorClass: 'build', principal: bob, service: 'artifacts.registry', action: 'PUT', allow: 1, deny: 0, error: 0, ...at(6) },
        { actor: builder, actorClass: 'build', principal: bob, service: 'orders.shop', action: 'POST', allow: 0, deny: 1, error: 0, ...at(5) },
      ],
      dropped: 0,
    });
    expect(report.findings.filter((finding) => finding.kind === 'delegated-write')).toEqual([
      {
        kind: 'delegated-write',
        severity: 'high',
        message: `${builder} (build) wrote for ${bob} on artifacts.registry: PUT ×1 allowed`,
        actor: builder,
        actorClass: 'build',
        principal: bob,
        service: 'artifacts.registry',
        actions: [{ action: 'PUT', allow: 1 }],
        allows: 1,
        ...at(6),
      },
      {
        kind: 'delegated-write',
        severity: 'medium',
        message: `${assistant} (agent) wrote for ${alice} on tickets.support: PATCH ×1 allowed`,
        actor: assistant,
        actorClass: 'agent',
        principal: alice,
        service: 'tickets.support',
        actions: [{ action: 'PATCH', allow: 1 }],
        allows: 1,
        ...at(4),
      },
    ]);
    expect(report.summary.findings.byKind['delegated-write']).toBe(2);

    const markdown = await readFile(join(out, 'report.md'), 'utf8');
    expect(markdown).toContain('## Who acted for whom');
    expect(markdown).toContain(`| ${assistant} | agent | ${alice} | tickets.support | GET | 2 | 0 | 0 | ${hoursAgo(2)} | ${hoursAgo(1)} |`);
    expect(markdown).toContain(`- **delegated-write**: ${builder} (build) wrote for ${bob} on artifacts.registry: PUT ×1 allowed`);
    const html = await readFile(join(out, 'report.html'), 'utf8');
    const q = (text: string) => text.replaceAll('"', '&quot;');
    expect(html).toContain(`<tr><td class="mono">${q(builder)}</td><td>build</td><td class="mono">${q(bob)}</td><td class="mono">orders.shop</td><td>POST</td><td>0</td><td>1</td><td>0</td>`);
    expect(html).toContain(`<td>delegated-write</td><td class="mono">${q(assistant)} (agent) wrote for ${q(alice)} on tickets.support: PATCH ×1 allowed</td>`);
  });
});

describe('gatehouse report (process)', () => {
  let dir: Awaited<ReturnType<typeof scratch>>;
  beforeAll(async () => {
    if (!existsSync(mainScript)) throw new Error(`${mainScript} is missing: run npm run build first`);
    dir = await scratch('cli');
    await dir.write('inventory.yaml', `${exampleInventoryYaml.replace('services:', `  - spiffeId: "${ids.retired}"\n    class: service\nservices:`)}`);
    await dir.write('first.jsonl', `${firstLog}\n`);
    await dir.write('second.jsonl', secondLog);
  });
  afterAll(async () => {
    await dir.remove();
  });

  test('writes the three files; report.json holds the matrix, the use and the findings', async () => {
    const out = join(dir.dir, 'out');
    const run = await gatehouse([
      '--policies', examplePolicyDir,
      '--inventory', join(dir.dir, 'inventory.yaml'),
      '--logs', join(dir.dir, 'first.jsonl'), join(dir.dir, 'second.jsonl'),
      '--since', '24h', '--now', now, '--deny-threshold', '3',
      '--out', out,
    ]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(join(out, 'report.html'));
    for (const name of ['report.json', 'report.md', 'report.html']) expect(existsSync(join(out, name))).toBe(true);

    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as ReportJson;
    expect(report.window).toEqual({ since: '24h', from: '2025-01-30T12:00:00.000Z', to: now });
    expect(report.logs?.files).toEqual([
      { name: join(dir.dir, 'first.jsonl'), lines: 5, inWindow: 3, outsideWindow: 1, malformed: 1, duplicates: 0 },
      { name: join(dir.dir, 'second.jsonl'), lines: 4, inWindow: 4, outsideWindow: 0, malformed: 0, duplicates: 0 },
    ]);
    expect(report.logs?.malformed.examples).toEqual([{ file: join(dir.dir, 'first.jsonl'), line: 4, reason: 'not JSON', sample: 'this is not a decision' }]);
    expect(report.matrix.cells.find((cell) => cell.principal === principal(ids.frontend) && cell.service === 'orders.shop' && cell.action === 'GET')).toMatchObject({
      access: 'conditional',
      policies: ['frontend-reads-orders'],
    });
    expect(report.logs?.uses.find((use) => use.principal === principal(ids.frontend))).toEqual({
      principal: principal(ids.frontend), service: 'orders.shop', action: 'GET', allow: 2, deny: 0, error: 0, firstSeen: hoursAgo(2), lastSeen: hoursAgo(1),
    });

    const subjects = (kind: string) => report.findings.filter((finding) => finding.kind === kind).map((finding) => ('principal' in finding ? finding.principal : 'policy' in finding ? finding.policy : ''));
    expect(subjects('repeated-denies')).toEqual([principal(ids.builder)]);
    expect(subjects('unknown-identity')).toEqual([stranger]);
    expect(subjects('unseen-identity')).toEqual([principal(ids.checkout), principal(ids.orders), principal(ids.reconciler), principal(ids.prometheus), principal(ids.retired)]);
    expect(subjects('over-broad-policy')).toEqual(['monitoring-scrapes-metrics', 'anonymous-reads-health', 'sre-reads-admin']);
    expect(subjects('idle-policy')).not.toContain('frontend-reads-orders');
    expect(subjects('idle-policy')).not.toContain('no-build-jobs-in-shop');
    expect(subjects('idle-policy')).toContain('checkout-charges-payments');
    const frontendUnused = report.findings.find((finding) => finding.kind === 'unused-grant' && finding.principal === principal(ids.frontend) && finding.service === 'orders.shop');
    expect(frontendUnused).toMatchObject({ severity: 'low', unusedActions: ['HEAD', 'OPTIONS'], usedActions: ['GET'], policies: ['frontend-reads-orders'] });

    const markdown = await readFile(join(out, 'report.md'), 'utf8');
    expect(markdown).toContain('# gatehouse access review');
    expect(markdown).toContain('| decisions read | 7 in the window; 1 outside it; 1 malformed lines |');
  });

  test('reads a log from standard input', async () => {
    const out = join(dir.dir, 'stdin-out');
    const run = await gatehouse(['--policies', examplePolicyDir, '--inventory', join(dir.dir, 'inventory.yaml'), '--logs', '-', '--now', now, '--out', out], `${firstLog}\n`);
    expect(run.code).toBe(0);
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as ReportJson;
    expect(report.logs?.files).toEqual([{ name: '(stdin)', lines: 5, inWindow: 4, outsideWindow: 0, malformed: 1, duplicates: 0 }]);
  });

  test('without logs: the matrix and the policy findings only', async () => {
    const out = join(dir.dir, 'no-logs');
    const run = await gatehouse(['--policies', examplePolicyDir, '--inventory', join(dir.dir, 'inventory.yaml'), '--now', now, '--out', out]);
    expect(run.code).toBe(0);
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as ReportJson;
    expect(report.logs).toBeNull();
    expect(new Set(report.findings.map((finding) => finding.kind))).toEqual(new Set(['over-broad-policy']));
  });

  test('every input problem at once, exit 1, nothing written', async () => {
    const bad = await dir.write('bad-inventory.yaml', 'workloads:\n  - spiffeId: nope\n    class: service\nservices: [orders.shop]\n');
    const out = join(dir.dir, 'never');
    const run = await gatehouse(['--policies', examplePolicyDir, '--inventory', bad, '--logs', join(dir.dir, 'missing.jsonl'), '--out', out]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `gatehouse report: ${bad}:2: workloads[0].spiffeId: SPIFFE ID must start with spiffe:// (got "nope")\n` +
        `gatehouse report: ${join(dir.dir, 'missing.jsonl')}: cannot open the decision log: ENOENT: no such file or directory, open '${join(dir.dir, 'missing.jsonl')}'\n`,
    );
    expect(existsSync(out)).toBe(false);
  });

  test.each([
    ['no --out', ['--inventory', 'x.yaml'], 'gatehouse report: --out DIR is required\n'],
    ['no --inventory', ['--out', 'x'], 'gatehouse report: --inventory FILE is required\n'],
    ['a bad --since', ['--inventory', 'x', '--out', 'y', '--since', '1 day'], 'gatehouse report: --since: expected a duration such as 30m, 24h or 7d (got "1 day")\n'],
    ['a bad --now', ['--inventory', 'x', '--out', 'y', '--now', 'noon'], 'gatehouse report: --now: expected an ISO 8601 time such as 2025-01-31T12:00:00Z (got "noon")\n'],
    ['a bad --deny-threshold', ['--inventory', 'x', '--out', 'y', '--deny-threshold', '0'], 'gatehouse report: --deny-threshold: expected a whole number of at least 1 (got "0")\n'],
    ['a stray argument', ['stray', '--inventory', 'x', '--out', 'y'], 'gatehouse report: unexpected argument "stray"\n'],
  ])('usage error: %s → exit 2', async (_name, args, stderr) => {
    expect(await gatehouse(args)).toEqual({ code: 2, stdout: '', stderr });
  });
});
