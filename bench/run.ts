/**
 * `npm run bench`: gatehouse against the floor (a grpc-js server answering a fixed OK with the
 * same protos), both driven from separate processes by the same generators: h2load for one
 * repeated request, and bench/loadgen.ts cycling thousands of distinct requests. Then the HTTP
 * wire (bench/http-wire.ts) against a bare node:http floor. Loopback only, bounded in time
 * (about six minutes). `--soak` adds a five-minute memory soak; `--http` runs only the HTTP wire.
 * Last, the policy-set load bench (bench/load-bench.ts, also `npm run bench:load` on its own).
 */
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { frontend, policyDir, shopOwn, shopWide, shopWorkload, writeBodies, type RequestShape } from './estate.js';
import { loadBench } from './load-bench.js';
import { logCost, type LogCost } from './log-micro.js';
import { microbench } from './micro.js';
import { startOtlpSink, type OtlpSink } from './otlp-sink.js';
import { telemetryCost, type TelemetryCost } from './telemetry-micro.js';
import { envoyHttp, forwardAuth, measureHttpWire, xfccFrontend, type HttpRow, type HttpScenario } from './http-wire.js';
import { h2load, loadgen, startServed, type LoadResult, type Served } from './processes.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const gatehouseMain = join(root, 'dist', 'src', 'main.js');
const loadgenScript = join(here, 'loadgen.js');
const floorScript = join(here, 'floor-server.js');
const httpFloorScript = join(here, 'http-floor-server.js');
const httpLoadgenScript = join(here, 'http-loadgen.js');
const work = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const soak = process.argv.includes('--soak');
/** `BENCH_ONLY=mtls-100,otel-mtls-100`: only these scenarios, and no decision-core microbench. */
const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);
const httpOnly = process.argv.includes('--http');
/** Keep-alive connections of the HTTP loads, one request in flight on each. */
const httpConnections = 16;
/**
 * Rounds per HTTP load (bench/http-wire.ts): each starts gatehouse and the floor afresh and runs
 * both back to back, each run a third of BENCH_SECONDS. Five, not three: one process's luck on
 * this VM (±10%) then moves the median of the rounds less.
 */
const httpRounds = 5;

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
  /** With telemetry on (to the bench's OTLP sink): the scenario it is compared with, telemetry off. */
  readonly telemetryOf?: string;
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
  // A run that dropped records did less work than one that exported them: say how many.
  if (scenario.telemetryOf !== undefined && server.http !== undefined) telemetryDrops.set(scenario.name, await droppedRecords(server.http));
  await server.stop();
  closeSync(logFd);
  const lines = readFileSync(scenario.logFile ?? logFile, 'utf8').split('\n').filter(Boolean).length;
  logLines.push({ scenario: scenario.name, lines });
  return rows;
}

/** Records each telemetry scenario's server dropped, by signal, read before it stopped. */
const telemetryDrops = new Map<string, string>();
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

/** Forward auth and Envoy `http_service` with a workload identity (trusted XFCC, or a token). */
async function measureHttp(tokenConfig: string, token: string): Promise<HttpRow[]> {
  const xfcc = 'identity:\n  trustForwardedClientCert: true\n';
  const scenarios: HttpScenario[] = [
    { name: 'forward-auth-xfcc-100', identityConfig: xfcc, request: forwardAuth(xfccFrontend), listenerOnly: true },
    { name: 'forward-auth-token-100', identityConfig: tokenConfig, request: forwardAuth({ authorization: `Bearer ${token}` }) },
    { name: 'envoy-http-xfcc-100', identityConfig: xfcc, request: envoyHttp(xfccFrontend) },
  ];
  const setup = {
    gatehouseMain,
    floorScript: httpFloorScript,
    listenerScript: join(here, 'http-listener-server.js'),
    loadgenScript: httpLoadgenScript,
    work,
    seconds: Math.max(1, Math.round(seconds / 3)),
    rounds: httpRounds,
    connections: httpConnections,
    policies: policyDir(join(root, 'policies'), 100),
  };
  const rows: HttpRow[] = [];
  for (const scenario of scenarios) {
    process.stderr.write(`bench: ${scenario.name}…\n`);
    const logFile = join(work, `${scenario.name}.decisions.jsonl`);
    const logFd = openSync(logFile, 'w');
    rows.push(...(await measureHttpWire(scenario, setup, logFd)));
    closeSync(logFd);
    logLines.push({ scenario: scenario.name, lines: readFileSync(logFile, 'utf8').split('\n').filter(Boolean).length });
  }
  return rows;
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
    // True misses: the permit reads each workload's service account, so no decision is shared.
    {
      name: 'miss-own-1000',
      policies: 1000,
      extraPolicy: shopOwn,
      request: { principal: shopWorkload(0), path: '/api/orders/42' },
      distinct: (i) => ({ principal: shopWorkload(i), path: '/api/orders/42', requestId: `r-${i}` }),
      distinctCount: 60_000,
      expectStatus: 0,
    },
  ];
  // Telemetry on (issue #19): the same loads exported to a local OTLP sink, every Check
  // continuing a sampled caller trace as behind a tracing Envoy; compared with the rows above.
  const sink = await startOtlpSink();
  const telemetryConfig = `telemetry:\n  otlp:\n    endpoint: "${sink.endpoint}"\n`;
  const traced = (shape: RequestShape): RequestShape => ({ ...shape, headers: { ...shape.headers, traceparent: `00-${'4bf92f3577b34da6a3ce929d0e0e4736'}-${'00f067aa0ba902b7'}-01` } });
  for (const base of ['mtls-100', 'miss-1000']) {
    const off = scenarios.find((s) => s.name === base)!;
    scenarios.push({ ...off, name: `otel-${base}`, config: `${off.config ?? ''}${telemetryConfig}`, request: traced(off.request), distinct: (i) => traced(off.distinct(i)), telemetryOf: base });
  }
  // A collector that takes requests and never answers: Checks keep their pace, memory its bound.
  const stuck = await startOtlpSink({ hang: true });
  const mtls = scenarios.find((s) => s.name === 'mtls-100')!;
  scenarios.push({ ...mtls, name: 'otel-stuck-mtls-100', config: `telemetry:\n  otlp:\n    endpoint: "${stuck.endpoint}"\n`, request: traced(mtls.request), distinct: (i) => traced(mtls.distinct(i)), telemetryOf: 'mtls-100' });
  const rows: Row[] = [];
  const micro = [];
  let costs: TelemetryCost[] = [];
  if (!httpOnly) {
    const floor = await startServed([floorScript, '127.0.0.1:0']);
    try {
      for (const scenario of scenarios.filter((s) => only === undefined || only.includes(s.name))) {
        process.stderr.write(`bench: ${scenario.name}…\n`);
        rows.push(...(await measure(scenario, floor)));
      }
      process.stderr.write('bench: telemetry cost…\n');
      // shopOwn: its "cache miss" load is new workloads the policies tell apart, so each one reaches Cedar.
      costs = await telemetryCost(policyDir(join(root, 'policies'), 100, shopOwn), sink.endpoint);
    } finally {
      await floor.stop();
    }
  }
  await sink.close();
  await stuck.close();
  const httpRows = only === undefined ? await measureHttp(tokenConfig, token) : [];
  let load: string[] = [];
  let logCosts: LogCost[] = [];
  if (!httpOnly && only === undefined) {
    process.stderr.write('bench: record step…\n');
    logCosts = await logCost(policyDir(join(root, 'policies'), 100));
    process.stderr.write('bench: decision core…\n');
    // Misses that must reach Cedar: every Check a workload the policies tell apart (shopOwn).
    for (const n of [10, 100, 1000, 10_000]) micro.push(await microbench(policyDir(join(root, 'policies'), n, shopOwn), n));
    load = await loadBench([100, 1000, 10_000], 3);
  }

  const out: string[] = [];
  out.push(`# gatehouse benchmark (${new Date().toISOString()})`);
  out.push(`machine: ${cpus()[0]?.model ?? 'unknown'}, ${availableParallelism()} cores; node ${process.version}; ${seconds} s per run; loopback`);
  out.push('');
  if (rows.length > 0) {
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
  }
  if (httpRows.length > 0) {
    out.push(
      `HTTP wire (100 policies, ${httpConnections} keep-alive HTTP/1.1 connections, one request in flight on each; floor: bare node:http answering 200; ${httpRounds} rounds per load, each with gatehouse and the floor started afresh and run back to back (gatehouse first in every other round), the round of the median ratio shown):`,
    );
    out.push('');
    out.push('| scenario | load | gatehouse req/s | floor req/s | ratio | ratios of the rounds | CPU µs/req gatehouse | CPU µs/req floor | p50 ms | p99 ms | p99.9 ms | failed | RSS MB |');
    out.push('|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of httpRows) {
      const ratios = r.ratios.map((ratio) => `${fmt(100 * ratio)}%`).join(' ');
      out.push(
        `| ${r.scenario} | ${r.load} | ${fmt(r.gatehouse.rps)} | ${fmt(r.floor.rps)} | ${fmt((100 * r.gatehouse.rps) / r.floor.rps)}% | ${ratios} | ${fmt(r.cpuUs.gatehouse)} | ${fmt(r.cpuUs.floor)} | ${ms(r.gatehouse.p50)} | ${ms(r.gatehouse.p99)} | ${ms(r.gatehouse.p999)} | ${r.gatehouse.failures} | ${fmt(r.rssMb)} |`,
      );
    }
    if (httpRows.some((r) => r.load === 'repeated, listener only')) {
      out.push('');
      out.push('"listener only": the HTTP authorization listener in front of a Check that decodes and answers a fixed allow (bench/http-listener-server.ts), in the gatehouse columns: what the wire costs without the shared pipeline.');
    }
    out.push('');
  }
  if (micro.length > 0) {
    out.push('| decision core (identity + Cedar, in-process) | repeated median µs | distinct median µs | miss p50 µs | miss p99 µs | miss max µs |');
    out.push('|---|---:|---:|---:|---:|---:|');
    for (const m of micro) {
      out.push(`| ${m.policies} policies | ${fmt(m.repeatedMedianUs, 1)} | ${fmt(m.distinctMedianUs, 1)} | ${fmt(m.miss.p50Us)} | ${fmt(m.miss.p99Us)} | ${fmt(m.miss.maxUs)} |`);
    }
    out.push('');
  }
  if (logCosts.length > 0) {
    out.push('| record step (decision line, metrics, file sink; in-process CPU per decision) | µs |');
    out.push('|---|---:|');
    for (const c of logCosts) out.push(`| ${c.part} | ${fmt(c.us, 2)} |`);
    out.push('');
  }
  if (costs.length > 0) {
    out.push(telemetryComparison(rows, scenarios, sink));
    out.push('');
    out.push('| telemetry cost (100 policies, in-process, CPU µs per Check) | event loop off | on | on / off | process (export thread incl.) off | on | dropped |');
    out.push('|---|---:|---:|---:|---:|---:|---:|');
    for (const c of costs) {
      out.push(`| ${c.load} | ${fmt(c.offUs, 1)} | ${fmt(c.onUs, 1)} | ${fmt((100 * c.onUs) / c.offUs)}% | ${fmt(c.offProcessUs, 1)} | ${fmt(c.onProcessUs, 1)} | ${c.dropped} |`);
    }
    out.push('');
  }
  if (load.length > 0) {
    out.push(...load);
    out.push('');
  }
  out.push(`decision log lines written per scenario: ${logLines.map((l) => `${l.scenario} ${l.lines}`).join(', ')}`);
  if (soakResult) out.push(`soak (mtls-1000, 5 min at half rate): RSS MB every 10 s: ${soakResult.samples.join(' ')}`);
  out.push(`total bench time: ${fmt((Date.now() - started) / 1000)} s`);
  process.stdout.write(`${out.join('\n')}\n`);
}

/** What `gatehouse_telemetry_dropped_total` says, per signal, on the server's metrics endpoint. */
async function droppedRecords(http: string): Promise<string> {
  const text = await (await fetch(`http://${http}/metrics`)).text();
  const counts = [...text.matchAll(/^gatehouse_telemetry_dropped_total\{signal="([^"]+)"\} (\S+)$/gm)].map(([, signal, count]) => `${signal} ${count}`);
  // A labelled counter appears only once something was counted.
  return counts.length > 0 ? counts.join(', ') : '0';
}

/** Telemetry on next to off, per load: the goal is within 10 % (issue #19). */
function telemetryComparison(rows: readonly Row[], scenarios: readonly Scenario[], sink: OtlpSink): string {
  const parts: string[] = [];
  for (const on of scenarios.filter((s) => s.telemetryOf !== undefined)) {
    for (const load of ['repeated (h2load)', 'distinct (loadgen)'] as const) {
      const a = rows.find((r) => r.scenario === on.name && r.load === load);
      const b = rows.find((r) => r.scenario === on.telemetryOf && r.load === load);
      if (a && b) parts.push(`${on.name} ${load}: ${fmt((100 * a.gatehouse.rps) / b.gatehouse.rps)}% of ${on.telemetryOf}'s req/s, p99 ${ms(a.gatehouse.p99)} vs ${ms(b.gatehouse.p99)} ms`);
    }
    const dropped = telemetryDrops.get(on.name);
    if (dropped !== undefined) parts.push(`${on.name} dropped (gatehouse_telemetry_dropped_total): ${dropped}`);
  }
  const received = [...sink.requests].map(([path, { count, bytes }]) => `${path} ${count} requests, ${fmt(bytes / 1024 / 1024, 1)} MiB`).join('; ');
  return `telemetry on vs off (goal: within 10 %): ${parts.join('; ')}. OTLP sink received: ${received}`;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
