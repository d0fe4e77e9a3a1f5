/**
 * `npm run bench:memory`: gatehouse as `serve` starts it with no flags (the default worker count,
 * the default V8 flags), under the bench's loads one after another, with the resident memory of
 * every gatehouse process (primary and workers) after each load and their sum: the figure the
 * memory budget (issue #16) is about. The loads come over two connections, so each of two
 * workers gets one (node:cluster hands out connections, not requests).
 *
 *   BENCH_SECONDS      seconds per load (default 5)
 *   BENCH_POLICIES     policies in the set (default 10,000, the bench's largest)
 *   BENCH_NODE_FLAGS   node flags for gatehouse, e.g. "--max-semi-space-size=4" (default none)
 *   BENCH_SERVE_ARGS   more `serve` flags, e.g. "--workers 2" (default none)
 *   --soak SECONDS     then the repeated request at half the measured rate, RSS every 10 s
 */
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { frontend, policyDir, shopWide, shopWorkload, writeBodies, type RequestShape } from './estate.js';
import { h2load, loadgens, startServed, type LoadResult, type Served } from './processes.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const gatehouseMain = join(root, 'dist', 'src', 'main.js');
const loadgenScript = join(here, 'loadgen.js');
const work = mkdtempSync(join(tmpdir(), 'gatehouse-memory-'));
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const policies = Number(process.env.BENCH_POLICIES ?? 10_000);
const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
const serveArgs = (process.env.BENCH_SERVE_ARGS ?? '').split(/\s+/).filter(Boolean);
const soakAt = process.argv.indexOf('--soak');
const soakSeconds = soakAt === -1 ? 0 : Number(process.argv[soakAt + 1] ?? 300);
const connections = 2;

/** A namespace label policy, so that max-headers decodes every header without Cedar reading one (issue #14). */
const frozenNamespaces = '@id("frozen-shop")\nforbid (principal, action, resource in Namespace::"shop")\nwhen { Namespace::"shop".hasTag("frozen") };\n';
const bulky = (i: number): Record<string, string> =>
  Object.fromEntries(Array.from({ length: 190 }, (_, h) => [`x-bulk-${h}`, `${h === 0 ? i : 'v'}`.padEnd(300, 'x')]));
const orders = (i: number): RequestShape => ({ principal: frontend, path: `/api/orders/${i}`, requestId: `r-${i}` });

interface Sample {
  readonly load: string;
  readonly result: LoadResult;
  readonly rss: number[];
  /** CPU time of all gatehouse processes per Check answered, in µs. */
  readonly cpuUs: number;
}

/** The V8 and external figures of the workers that decide (prom-client's defaults, summed over workers by the primary). */
async function heapFigures(server: Served): Promise<string> {
  if (!server.http) return 'no metrics address';
  const text = await (await fetch(`http://${server.http}/metrics`)).text();
  const mib = (name: string): string => {
    const value = new RegExp(`^gatehouse_${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1];
    return value === undefined ? '?' : (Number(value) / 2 ** 20).toFixed(0);
  };
  return `heap used ${mib('nodejs_heap_size_used_bytes')} MiB of ${mib('nodejs_heap_size_total_bytes')} MiB, external ${mib('nodejs_external_memory_bytes')} MiB`;
}

async function main(): Promise<void> {
  const dir = policyDir(join(root, 'policies'), policies, `${shopWide}\n${frozenNamespaces}`);
  const logFd = openSync(join(work, 'decisions.jsonl'), 'w');
  const configFile = join(work, 'config.yaml');
  writeFileSync(configFile, '{}\n');
  const server = await startServed([...nodeFlags, gatehouseMain, 'serve', '--config', configFile, '--policies', dir, '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', ...serveArgs], logFd, 180);
  const samples: Sample[] = [];
  const rss = (): number[] => server.processes().map((p) => Math.round(p.rssMb));
  const cpu = (): number => server.processes().reduce((sum, p) => sum + p.cpuSeconds, 0);
  const sample = async (load: string, run: () => Promise<LoadResult>): Promise<LoadResult> => {
    const before = cpu();
    const result = await run();
    // Both generators warm up for a second before they count, at about the rate they then measure.
    samples.push({ load, result, rss: rss(), cpuUs: ((cpu() - before) * 1e6) / Math.max(1, result.rps * (seconds + 1)) });
    return result;
  };
  try {
    const idle = rss();
    const one = writeBodies(join(work, 'one.bin'), [orders(42)]);
    const repeated = await sample('repeated (h2load)', () => h2load(server.grpc, one, seconds, connections, join(work, 'h2.log')));
    const distinct = writeBodies(join(work, 'distinct.bin'), Array.from({ length: 5000 }, (_, i) => orders(i)));
    await sample('distinct paths (loadgen)', () => loadgens(loadgenScript, connections, { target: server.grpc, bodies: distinct, concurrency: 32, seconds }));
    const misses = writeBodies(join(work, 'misses.bin'), Array.from({ length: 60_000 }, (_, i) => ({ principal: shopWorkload(i), path: '/api/orders/42', requestId: `r-${i}` })));
    await sample('cache misses (loadgen)', () => loadgens(loadgenScript, connections, { target: server.grpc, bodies: misses, concurrency: 32, seconds }));
    const headers = writeBodies(join(work, 'headers.bin'), Array.from({ length: 500 }, (_, i) => ({ ...orders(i), headers: bulky(i) })));
    await sample('max headers (loadgen)', () => loadgens(loadgenScript, connections, { target: server.grpc, bodies: headers, concurrency: 32, seconds }));
    const heap = await heapFigures(server);
    const soak: number[] = [];
    if (soakSeconds > 0) {
      const timer = setInterval(() => soak.push(rss().reduce((a, b) => a + b, 0)), 10_000);
      await loadgens(loadgenScript, connections, { target: server.grpc, bodies: one, concurrency: 32, seconds: soakSeconds, rate: Math.round(repeated.rps / 2) });
      clearInterval(timer);
    }
    report(idle, samples, heap, soak);
  } finally {
    await server.stop();
    closeSync(logFd);
  }
}

function report(idle: number[], samples: readonly Sample[], heap: string, soak: readonly number[]): void {
  const total = (rss: readonly number[]): number => rss.reduce((a, b) => a + b, 0);
  const out = [
    `# gatehouse memory at defaults (${new Date().toISOString()})`,
    `machine: ${cpus()[0]?.model ?? 'unknown'}, ${availableParallelism()} cores; node ${process.version}; ${seconds} s per load; ${policies} policies; node flags: ${nodeFlags.join(' ') || 'none'}; serve flags: ${serveArgs.join(' ') || 'none'}`,
    '',
    '| after | req/s | CPU µs per Check | p50 ms | p99 ms | failed | RSS MiB per process (server first) | all processes MiB |',
    '|---|---:|---:|---:|---:|---:|---|---:|',
    `| start (idle) | | | | | | ${idle.join(' + ')} | ${total(idle)} |`,
    ...samples.map((s) => `| ${s.load} | ${s.result.rps.toFixed(0)} | ${s.cpuUs.toFixed(0)} | ${s.result.p50.toFixed(2)} | ${s.result.p99.toFixed(2)} | ${s.result.failures} | ${s.rss.join(' + ')} | ${total(s.rss)} |`),
    '',
    `deciding processes after the loads: ${heap}`,
    `peak of all processes: ${Math.max(...samples.map((s) => total(s.rss)))} MiB`,
  ];
  if (soak.length > 0) out.push(`soak (${soakSeconds} s, repeated at half rate): all processes MiB every 10 s: ${soak.join(' ')}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
