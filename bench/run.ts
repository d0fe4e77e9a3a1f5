/**
 * `npm run bench`: gatehouse against the floor (a grpc-js server answering a fixed OK with the
 * same protos), both driven from separate processes by the same generators: h2load for one
 * repeated request, and bench/loadgen.ts cycling thousands of distinct requests. Loopback only,
 * bounded in time (about three minutes). `--soak` adds a five-minute memory soak. Last, the
 * policy-set load bench (bench/load-bench.ts, also `npm run bench:load` on its own).
 */
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { frontend, policyDir, shopWide, shopWorkload, writeBodies, type RequestShape } from './estate.js';
import { loadBench } from './load-bench.js';
import { microbench } from './micro.js';
import { h2load, loadgen, startServed, type LoadResult, type Served } from './processes.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const gatehouseMain = join(root, 'dist', 'src', 'main.js');
const loadgenScript = join(here, 'loadgen.js');
const floorScript = join(here, 'floor-server.js');
const work = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const soak = process.argv.includes('--soak');

interface Scenario {
  readonly name: string;
  /** Where the decision lines go when not to stdout. */
  readonly logFile?: string;
  readonly policies: number;
  /** A policy added to the generated set. */
  readonly extraPolicy?: string;
  readonly config?: string;
  readonly workers?: number;
  readonly request: RequestShape;
  readonly distinct: (i: number) => RequestShape;
  /** How many distinct requests the distinct load cycles through (default 5,000). */
  readonly distinctCount?: number;
  /** The CheckResponse status every answer must carry (0 allow, 7 deny). */
  readonly expectStatus: number;
}

interface Row {
  readonly scenario: string;
  readonly load: 'repeated (h2load)' | 'distinct (loadgen)';
  readonly gatehouse: LoadResult;
  readonly floor: LoadResult;
  readonly rssMb: number;
  readonly floorRssMb: number;
}

async function tokenSetup(): Promise<{ config: string; token: string }> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' };
  const jwks = join(work, 'jwks.json');
  writeFileSync(jwks, JSON.stringify({ keys: [jwk] }));
  const issuer = 'https://kubernetes.default.svc.cluster.local';
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({
    'kubernetes.io': { namespace: 'shop', serviceaccount: { name: 'frontend', uid: 'u-1' }, pod: { name: 'frontend-1', uid: 'p-1' } },
  })
    .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
    .setIssuer(issuer)
    .setSubject('system:serviceaccount:shop:frontend')
    .setAudience('gatehouse')
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(privateKey);
  const config = `identity:\n  jwt:\n    - issuer: "${issuer}"\n      kind: kubernetes\n      audiences: ["gatehouse"]\n      jwksFile: "${jwks}"\n`;
  return { config, token };
}

async function measure(scenario: Scenario, floor: Served): Promise<Row[]> {
  const floorTarget = floor.grpc;
  const dir = policyDir(join(root, 'policies'), scenario.policies, scenario.extraPolicy);
  const configFile = join(work, `${scenario.name}.yaml`);
  writeFileSync(configFile, scenario.config ?? '{}\n');
  const logFile = join(work, `${scenario.name}.decisions.jsonl`);
  const logFd = openSync(logFile, 'w');
  const server = await startServed(
    [gatehouseMain, 'serve', '--config', configFile, '--policies', dir, '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--workers', String(scenario.workers ?? 1)],
    logFd,
  );
  const connections = scenario.workers ?? 1;
  const repeatedBody = writeBodies(join(work, `${scenario.name}.one.bin`), [scenario.request]);
  const distinctBodies = writeBodies(join(work, `${scenario.name}.many.bin`), Array.from({ length: scenario.distinctCount ?? 5000 }, (_, i) => scenario.distinct(i)));

  // h2load cannot read gRPC statuses: a short run of our own generator checks the answers first.
  const check = await loadgen(loadgenScript, { target: server.grpc, bodies: repeatedBody, concurrency: 8, seconds: 1 });
  const statuses = Object.keys(check.checkStatus ?? {});
  if (check.failures > 0 || statuses.length !== 1 || Number(statuses[0]) !== scenario.expectStatus) {
    throw new Error(`${scenario.name}: expected CheckResponse status ${scenario.expectStatus}, got ${JSON.stringify(check)}`);
  }
  const rows: Row[] = [];
  const gRepeated = await h2load(server.grpc, repeatedBody, seconds, connections, join(work, 'h2.log'));
  const fRepeated = await h2load(floorTarget, repeatedBody, seconds, connections, join(work, 'h2.log'));
  rows.push({ scenario: scenario.name, load: 'repeated (h2load)', gatehouse: gRepeated, floor: fRepeated, rssMb: server.rssMb(), floorRssMb: floor.rssMb() });
  const gDistinct = await loadgen(loadgenScript, { target: server.grpc, bodies: distinctBodies, concurrency: 64, seconds });
  const fDistinct = await loadgen(loadgenScript, { target: floorTarget, bodies: distinctBodies, concurrency: 64, seconds });
  rows.push({ scenario: scenario.name, load: 'distinct (loadgen)', gatehouse: gDistinct, floor: fDistinct, rssMb: server.rssMb(), floorRssMb: floor.rssMb() });

  if (scenario.name === 'mtls-100') {
    const rate = Math.round(gRepeated.rps / 2);
    const half = await loadgen(loadgenScript, { target: server.grpc, bodies: repeatedBody, concurrency: 256, seconds, rate });
    // The same offered load on the floor shows what the generator and the shared cores add.
    const floorHalf = await loadgen(loadgenScript, { target: floorTarget, bodies: repeatedBody, concurrency: 256, seconds, rate });
    halfRate = { rate, result: half, floor: floorHalf };
  }
  if (soak && scenario.name === 'mtls-1000') soakResult = await soakRun(server, repeatedBody, Math.round(gRepeated.rps / 2));
  await server.stop();
  closeSync(logFd);
  const lines = readFileSync(scenario.logFile ?? logFile, 'utf8').split('\n').filter(Boolean).length;
  logLines.push({ scenario: scenario.name, lines });
  return rows;
}

let halfRate: { rate: number; result: LoadResult; floor: LoadResult } | undefined;
let soakResult: { samples: number[] } | undefined;
const logLines: { scenario: string; lines: number }[] = [];

async function soakRun(server: { grpc: string; rssMb(): number }, body: string, rate: number): Promise<{ samples: number[] }> {
  const samples: number[] = [];
  const timer = setInterval(() => samples.push(Math.round(server.rssMb())), 10_000);
  await loadgen(loadgenScript, { target: server.grpc, bodies: body, concurrency: 256, seconds: 300, rate });
  clearInterval(timer);
  return { samples };
}

const fmt = (n: number, digits = 0): string => n.toFixed(digits);
const ms = (n: number): string => `${n.toFixed(2)}`;

async function main(): Promise<void> {
  const started = Date.now();
  const { config: tokenConfig, token } = await tokenSetup();
  const orders = (i: number): RequestShape => ({ principal: frontend, path: `/api/orders/${i}`, requestId: `r-${i}` });
  // Near the default limits (200 headers, 64 KiB), one value differing per request: what crosses
  // into Cedar is only what policies read, so this costs decoding, not evaluation or cache misses.
  const frozenNamespaces = '@id("frozen-shop")\nforbid (principal, action, resource in Namespace::"shop")\nwhen { Namespace::"shop".hasTag("frozen") };\n';
  const bulky = (i: number): Record<string, string> =>
    Object.fromEntries(Array.from({ length: 190 }, (_, h) => [`x-bulk-${h}`, `${h === 0 ? i : 'v'}`.padEnd(300, 'x')]));
  const scenarios: Scenario[] = [
    { name: 'mtls-100', policies: 100, request: { principal: frontend, path: '/api/orders/42' }, distinct: orders, expectStatus: 0 },
    { name: 'token-100', policies: 100, config: tokenConfig, request: { token, path: '/api/orders/42' }, distinct: (i) => ({ token, path: `/api/orders/${i}`, requestId: `r-${i}` }), expectStatus: 0 },
    { name: 'mtls-1000', policies: 1000, request: { principal: frontend, path: '/api/orders/42' }, distinct: orders, expectStatus: 0 },
    { name: 'dry-run-100', policies: 100, config: 'mode: dry-run\n', request: { principal: frontend, method: 'DELETE', path: '/api/orders/42' }, distinct: (i) => ({ principal: frontend, method: 'DELETE', path: `/api/orders/${i}` }), expectStatus: 0 },
    { name: 'log-file-100', policies: 100, logFile: join(work, 'decisions-file.jsonl'), config: `decisionLog:\n  stdout: false\n  file: "${join(work, 'decisions-file.jsonl')}"\n`, request: { principal: frontend, path: '/api/orders/42' }, distinct: orders, expectStatus: 0 },
    // Reading a namespace's labels once pulled every header into Cedar (issue #14); it must not.
    { name: 'max-headers-100', policies: 100, extraPolicy: frozenNamespaces, request: { principal: frontend, path: '/api/orders/42', headers: bulky(0) }, distinct: (i) => ({ ...orders(i), headers: bulky(i) }), expectStatus: 0 },
    { name: 'workers-2-100', policies: 100, workers: 2, request: { principal: frontend, path: '/api/orders/42' }, distinct: orders, expectStatus: 0 },
    // Cache misses (issue #16): every distinct request a different workload, all allowed by one namespace-wide permit.
    ...[100, 1000, 10_000].map(
      (policies): Scenario => ({
        name: `miss-${policies}`,
        policies,
        extraPolicy: shopWide,
        request: { principal: shopWorkload(0), path: '/api/orders/42' },
        distinct: (i) => ({ principal: shopWorkload(i), path: '/api/orders/42', requestId: `r-${i}` }),
        distinctCount: 60_000,
        expectStatus: 0,
      }),
    ),
  ];
  const floor = await startServed([floorScript, '127.0.0.1:0']);
  const rows: Row[] = [];
  try {
    for (const scenario of scenarios) {
      process.stderr.write(`bench: ${scenario.name}…\n`);
      rows.push(...(await measure(scenario, floor)));
    }
  } finally {
    await floor.stop();
  }
  process.stderr.write('bench: decision core…\n');
  const micro = [];
  for (const n of [10, 100, 1000, 10_000]) micro.push(await microbench(policyDir(join(root, 'policies'), n, shopWide), n));
  const load = await loadBench([100, 1000, 10_000], 3);

  const out: string[] = [];
  out.push(`# gatehouse benchmark (${new Date().toISOString()})`);
  out.push(`machine: ${cpus()[0]?.model ?? 'unknown'}, ${availableParallelism()} cores; node ${process.version}; ${seconds} s per run; loopback`);
  out.push('');
  out.push('| scenario | load | gatehouse req/s | floor req/s | ratio | p50 ms | p99 ms | p99.9 ms | failed | RSS MB | floor RSS MB |');
  out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    out.push(
      `| ${r.scenario} | ${r.load} | ${fmt(r.gatehouse.rps)} | ${fmt(r.floor.rps)} | ${fmt((100 * r.gatehouse.rps) / r.floor.rps)}% | ${ms(r.gatehouse.p50)} | ${ms(r.gatehouse.p99)} | ${ms(r.gatehouse.p999)} | ${r.gatehouse.failures} | ${fmt(r.rssMb)} | ${fmt(r.floorRssMb)} |`,
    );
  }
  if (halfRate) {
    out.push('');
    const { result: g, floor: f } = halfRate;
    out.push(`p99 at half of mtls-100's maximum (${halfRate.rate} req/s offered, open loop): gatehouse ${fmt(g.rps)} served, p50 ${ms(g.p50)} ms, p99 ${ms(g.p99)} ms, p99.9 ${ms(g.p999)} ms, failed ${g.failures}; the floor at the same load: p50 ${ms(f.p50)} ms, p99 ${ms(f.p99)} ms, p99.9 ${ms(f.p999)} ms`);
  }
  out.push('');
  out.push('| decision core (identity + Cedar, in-process) | repeated median µs | distinct median µs | miss p50 µs | miss p99 µs | miss max µs |');
  out.push('|---|---:|---:|---:|---:|---:|');
  for (const m of micro) {
    out.push(`| ${m.policies} policies | ${fmt(m.repeatedMedianUs, 1)} | ${fmt(m.distinctMedianUs, 1)} | ${fmt(m.miss.p50Us)} | ${fmt(m.miss.p99Us)} | ${fmt(m.miss.maxUs)} |`);
  }
  out.push('');
  out.push(...load);
  out.push('');
  out.push(`decision log lines written per scenario: ${logLines.map((l) => `${l.scenario} ${l.lines}`).join(', ')}`);
  if (soakResult) out.push(`soak (mtls-1000, 5 min at half rate): RSS MB every 10 s: ${soakResult.samples.join(' ')}`);
  out.push(`total bench time: ${fmt((Date.now() - started) / 1000)} s`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
