/**
 * `npm run bench:report`: `gatehouse report` on a generated estate (hundreds of workloads and
 * services, a policy for every workload) and 1,000,000 decision log lines in a temporary file;
 * then a fleet: 10,000,000 lines from 10 replicas (one file each, time-ordered as a replica
 * writes it, every other one gzipped, 0.1 % of decisions also in a second replica's file, as
 * overlapping exports give) read through `--logs DIR`.
 * Runs the built CLI as a child process, as an operator would, and prints wall time and the
 * child's peak RSS, once without logs (the matrix alone) and once with them.
 * Environment: BENCH_LINES (default 1000000), BENCH_FLEET_LINES (default 10000000; 0 skips the
 * fleet), BENCH_REPLICAS (default 10), BENCH_NAMESPACES (default 40), BENCH_KEEP=1 keeps
 * the generated estate and reports (the directory is printed) for profiling.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReportJson } from '../src/report/report.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const main = join(root, 'dist', 'src', 'main.js');
const lines = Number(process.env.BENCH_LINES ?? 1_000_000);
const namespaces = Number(process.env.BENCH_NAMESPACES ?? 40);
const workloadsPerNamespace = 10;
const servicesPerNamespace = 5;
const budgetSeconds = 30;
const fleetLines = Number(process.env.BENCH_FLEET_LINES ?? 10_000_000);
const replicas = Number(process.env.BENCH_REPLICAS ?? 10);
const fleetBudgetSeconds = 300;
const fleetBudgetMib = 1024;
const now = Date.parse('2025-01-31T12:00:00Z');

interface Workload {
  readonly id: string;
  readonly class: 'service' | 'build' | 'automation';
  /** Services it is granted, and the path it uses on them. */
  readonly grants: readonly { service: string; method: string; path: string }[];
}

/** Deterministic, so two runs read the same estate. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return state / 2 ** 32;
  };
}

function estate(): { workloads: Workload[]; services: string[]; policies: string } {
  const workloads: Workload[] = [];
  const services: string[] = [];
  const policies: string[] = [];
  for (let n = 0; n < namespaces; n++) {
    for (let s = 0; s < servicesPerNamespace; s++) services.push(`svc${s}.team${n}`);
    for (let w = 0; w < workloadsPerNamespace; w++) {
      const id = `spiffe://cluster.local/ns/team${n}/sa/app${w}`;
      const reads = [`svc${w % servicesPerNamespace}.team${n}`, `svc${(w + 1) % servicesPerNamespace}.team${n}`];
      const write = `svc${w % servicesPerNamespace}.team${(n + 1) % namespaces}`;
      for (const service of reads) {
        policies.push(`@id("team${n}-app${w}-reads-${service}")
permit (principal == Workload::"${id}", action in Action::"read", resource == Service::"${service}")
when { context.path like "/api/${service.split('.')[0]}*" };`);
      }
      const grants = reads.map((service) => ({ service, method: 'GET', path: `/api/${service.split('.')[0]}/items/1` }));
      if (w < 3) {
        policies.push(`@id("team${n}-app${w}-writes-${write}")
permit (principal == Workload::"${id}", action in [Action::"POST", Action::"PUT"], resource == Service::"${write}")
when { context.path == "/api/v1/items" || context.path like "/api/v1/items/*" };`);
        grants.push({ service: write, method: 'POST', path: '/api/v1/items' });
      }
      workloads.push({ id, class: 'service', grants });
    }
  }
  for (let b = 0; b < 10; b++) {
    const id = `spiffe://cluster.local/ns/ci/sa/runner${b}`;
    workloads.push({ id, class: 'build', grants: [{ service: 'artifacts.registry', method: 'GET', path: '/v2/app/manifests/latest' }] });
  }
  policies.push(`@id("ci-runners-pull") permit (principal in Namespace::"ci", action in Action::"read", resource == Service::"artifacts.registry") when { context.path like "/v2/*" };`);
  policies.push(`@id("no-build-jobs-in-teams") forbid (principal is Workload, action in Action::"write", resource) when { principal.class == "build" };`);
  policies.push(`@id("monitoring-scrapes") permit (principal is Workload in Namespace::"monitoring", action == Action::"GET", resource) when { context.path == "/metrics" };`);
  policies.push(`@id("team0-writes-need-tenant") forbid (principal, action in Action::"write", resource in Namespace::"team0") unless { context.headers.hasTag("x-tenant") };`);
  workloads.push({ id: 'spiffe://cluster.local/ns/monitoring/sa/prometheus', class: 'service', grants: services.slice(0, 50).map((service) => ({ service, method: 'GET', path: '/metrics' })) });
  workloads.push({ id: 'spiffe://cluster.local/ns/ops/sa/reconciler', class: 'automation', grants: [] });
  services.push('artifacts.registry');
  return { workloads, services, policies: policies.join('\n\n') };
}

function inventoryYaml(workloads: readonly Workload[], services: readonly string[]): string {
  return [
    'workloads:',
    ...workloads.map((workload) => `  - spiffeId: "${workload.id}"\n    class: ${workload.class}`),
    'services:',
    ...services.map((service) => `  - "${service}"`),
    '',
  ].join('\n');
}

/** Decision lines as gatehouse writes them: allows on granted routes, denies elsewhere, some strangers, some junk. */
function lineMaker(workloads: readonly Workload[], services: readonly string[], seed: number): (i: number, timeMs: number) => string {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  // A fifth of the inventory stays silent, so the report has unseen identities to find.
  const active = workloads.filter((_, index) => index % 5 !== 0);
  return (i, timeMs) => {
    const time = new Date(timeMs).toISOString();
    const roll = next();
    if (roll < 0.001) return roll < 0.0005 ? `{"time":"${time}","truncated` : 'gatehouse serving on 0.0.0.0:9191';
    const stranger = roll < 0.03;
    const workload = pick(active);
    const principal = stranger ? `Workload::"spiffe://cluster.local/ns/shadow/sa/job${Math.floor(next() * 20)}"` : `Workload::"${workload.id}"`;
    const granted = !stranger && workload.grants.length > 0 && next() < 0.9;
    const grant = granted ? pick(workload.grants) : { service: pick(services), method: pick(['GET', 'POST', 'DELETE']), path: '/admin/config' };
    const decision = granted ? 'allow' : 'deny';
    const policies = granted ? `["team-policy-${grant.service}"]` : '[]';
    return `{"time":"${time}","decisionId":"d-${i}","requestId":"r-${i}","principal":${JSON.stringify(principal)},"authn":"mtls","action":"${grant.method}","resource":"${grant.service}","path":"${grant.path}","decision":"${decision}","policies":${policies},"errors":[],"mode":"enforce","durationMs":0.18,"reason":"${granted ? '' : 'policy_denied'}","detail":"${granted ? '' : 'no policy permits the request'}","policyVersion":"0123456789ab"}`;
  };
}

/** A file written in chunks of 10,000 lines, waiting on backpressure; gzipped (fast level) when asked. */
function lineWriter(file: string, gzip: boolean): { push(line: string): Promise<void>; end(): Promise<void> } {
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  const sink: Writable = gzip ? createGzip({ level: 1 }) : out;
  if (gzip) sink.pipe(out);
  let chunk: string[] = [];
  const flush = async (): Promise<void> => {
    if (!sink.write(`${chunk.join('\n')}\n`)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
    chunk = [];
  };
  return {
    push: async (line) => {
      chunk.push(line);
      if (chunk.length === 10_000) await flush();
    },
    end: async () => {
      if (chunk.length > 0) await flush();
      const closed = new Promise<void>((resolve, reject) => {
        out.once('close', () => resolve());
        out.once('error', reject);
      });
      sink.end();
      await closed;
    },
  };
}

/** One log, in random time order over 36 h (a merged export; the report needs no order within one file). */
async function writeLog(file: string, workloads: readonly Workload[], services: readonly string[]): Promise<void> {
  const next = random(7);
  const make = lineMaker(workloads, services, 42);
  const out = lineWriter(file, false);
  for (let i = 0; i < lines; i++) await out.push(make(i, now - Math.floor(next() * 36 * 3_600_000)));
  await out.end();
}

/**
 * The fleet: `replicas` logs over the same 36 h, each in time order, a decision going to one
 * replica at random; 0.1 % of decisions also written to a second replica's log (same decision id),
 * as overlapping exports give. Odd replicas are gzipped. Returns the number of copies written.
 */
async function writeFleetLogs(dir: string, workloads: readonly Workload[], services: readonly string[]): Promise<number> {
  await mkdir(dir, { recursive: true });
  const next = random(11);
  const make = lineMaker(workloads, services, 43);
  const outs = Array.from({ length: replicas }, (_, r) => lineWriter(join(dir, `gatehouse-${r}.jsonl${r % 2 === 1 ? '.gz' : ''}`), r % 2 === 1));
  const start = now - 36 * 3_600_000;
  let copies = 0;
  for (let i = 0; i < fleetLines; i++) {
    const line = make(i, start + Math.floor((i / fleetLines) * 36 * 3_600_000));
    const replica = Math.floor(next() * replicas);
    await outs[replica]!.push(line);
    if (next() < 0.001) {
      copies += 1;
      await outs[(replica + 1) % replicas]!.push(line);
    }
  }
  await Promise.all(outs.map((out) => out.end()));
  return copies;
}

// Reports the child's own peak RSS (kilobytes) on its way out; no other way to read a child's rusage from Node.
const rssProbe = `data:text/javascript,process.on("exit",()=>process.stderr.write("\\nbench-maxrss-kb="+process.resourceUsage().maxRSS+"\\n"))`;

async function runReport(args: readonly string[]): Promise<{ seconds: number; rssMb: number; stderr: string }> {
  const started = process.hrtime.bigint();
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', rssProbe, main, 'report', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (data: Buffer) => {
      err += data.toString();
      process.stderr.write(data.toString().replace(/\n?bench-maxrss-kb=\d+\n/, ''));
    });
    child.on('error', reject);
    child.on('close', (exit) => resolve({ code: exit, stderr: err }));
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`gatehouse report exited ${code}:\n${stderr}`);
  const kb = Number(/bench-maxrss-kb=(\d+)/.exec(stderr)?.[1] ?? NaN);
  return { seconds, rssMb: kb / 1024, stderr };
}

async function main_(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'gatehouse-report-bench-'));
  try {
    const { workloads, services, policies } = estate();
    const policyDir = join(work, 'policies');
    await mkdir(policyDir);
    await copyFile(join(root, 'policies', 'schema.cedarschema'), join(policyDir, 'schema.cedarschema'));
    await writeFile(join(policyDir, 'estate.cedar'), policies);
    const inventory = join(work, 'inventory.yaml');
    await writeFile(inventory, inventoryYaml(workloads, services));
    const log = join(work, 'decisions.jsonl');
    const generating = Date.now();
    await writeLog(log, workloads, services);
    const size = (await stat(log)).size;
    const policyCount = policies.split('@id(').length - 1;
    process.stdout.write(
      `estate: ${workloads.length} workloads, ${services.length} services, ${policyCount} policies; ` +
        `log: ${lines.toLocaleString('en')} lines, ${(size / 2 ** 20).toFixed(0)} MiB (written in ${((Date.now() - generating) / 1000).toFixed(1)} s)\n`,
    );

    const common = ['--policies', policyDir, '--inventory', inventory, '--now', new Date(now).toISOString()];
    const matrixOnly = await runReport([...common, '--out', join(work, 'out-matrix')]);
    const full = await runReport([...common, '--logs', log, '--since', '24h', '--out', join(work, 'out')]);
    const report = JSON.parse(await readFile(join(work, 'out', 'report.json'), 'utf8')) as ReportJson;
    const htmlSize = (await stat(join(work, 'out', 'report.html'))).size;

    const rows = [
      ['run', 'wall time', 'peak RSS'],
      ['matrix only (no logs)', `${matrixOnly.seconds.toFixed(2)} s`, `${matrixOnly.rssMb.toFixed(0)} MiB`],
      [`matrix + ${lines.toLocaleString('en')} log lines`, `${full.seconds.toFixed(2)} s`, `${full.rssMb.toFixed(0)} MiB`],
    ];
    process.stdout.write(`\n${rows.map((row) => `| ${row.join(' | ')} |`).join('\n')}\n\n`);
    process.stdout.write(
      `matrix: ${report.summary.identities} identities × ${report.summary.services} services × 7 actions, ${report.matrix.evaluations} Cedar evaluations, ` +
        `${report.summary.cells.allow} allow + ${report.summary.cells.conditional} conditional cells\n` +
        `logs: ${report.logs?.decisions.toLocaleString('en')} decisions in the window, ${report.logs?.malformed.count} malformed, ` +
        `${report.logs?.files[0]?.outsideWindow.toLocaleString('en')} outside; ${report.logs?.uses.length} (principal, service, action) keys\n` +
        `findings: ${report.summary.findings.high} high, ${report.summary.findings.medium} medium, ${report.summary.findings.low} low; report.html ${(htmlSize / 2 ** 20).toFixed(1)} MiB\n`,
    );
    const verdict = full.seconds < budgetSeconds ? 'within' : 'OVER';
    process.stdout.write(`${verdict} the ${budgetSeconds} s budget for ${lines.toLocaleString('en')} lines\n`);
    if (full.seconds >= budgetSeconds) process.exitCode = 1;
    if (fleetLines > 0) await fleet(work, common, workloads, services);
  } finally {
    if (process.env.BENCH_KEEP === '1') process.stdout.write(`kept ${work}\n`);
    else await rm(work, { recursive: true, force: true });
  }
}

async function fleet(work: string, common: readonly string[], workloads: readonly Workload[], services: readonly string[]): Promise<void> {
  const dir = join(work, 'fleet');
  const generating = Date.now();
  const copies = await writeFleetLogs(dir, workloads, services);
  let bytes = 0;
  for (const name of await readdir(dir)) bytes += (await stat(join(dir, name))).size;
  process.stdout.write(
    `\nfleet: ${fleetLines.toLocaleString('en')} decisions from ${replicas} replicas (${Math.ceil(replicas / 2)} plain, ${Math.floor(replicas / 2)} gzipped), ` +
      `${copies.toLocaleString('en')} also in a second replica's log; ${(bytes / 2 ** 20).toFixed(0)} MiB on disk (written in ${((Date.now() - generating) / 1000).toFixed(1)} s)\n`,
  );
  const run = await runReport([...common, '--logs', dir, '--since', '24h', '--out', join(work, 'out-fleet')]);
  const report = JSON.parse(await readFile(join(work, 'out-fleet', 'report.json'), 'utf8')) as ReportJson;
  const files = report.logs?.files ?? [];
  const sum = (field: 'lines' | 'inWindow' | 'outsideWindow' | 'duplicates'): string => files.reduce((total, file) => total + file[field], 0).toLocaleString('en');
  process.stdout.write(
    `| matrix + ${fleetLines.toLocaleString('en')} lines from ${replicas} replicas (--logs DIR) | ${run.seconds.toFixed(2)} s | ${run.rssMb.toFixed(0)} MiB |\n` +
      `logs: ${sum('lines')} lines read, ${sum('inWindow')} decisions in the window, ${sum('outsideWindow')} outside, ${sum('duplicates')} duplicates dropped, ${report.logs?.malformed.count} malformed\n`,
  );
  const within = run.seconds < fleetBudgetSeconds && run.rssMb < fleetBudgetMib;
  process.stdout.write(`${within ? 'within' : 'OVER'} the fleet budget (${fleetBudgetSeconds} s, ${fleetBudgetMib} MiB)\n`);
  if (!within) process.exitCode = 1;
}

await main_();
