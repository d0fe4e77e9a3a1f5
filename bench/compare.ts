/**
 * `npm run bench:compare -- OTHER_CHECKOUT [ROUNDS]`: this build against another checkout's build
 * (e.g. `git worktree add /tmp/base <rev> && (cd /tmp/base && npm ci && npm run build)`), on the
 * same machine at the same time: the two servers take turns, ROUNDS times (default 3), under
 * the same repeated (h2load) and distinct (loadgen) loads, so a change's effect on speed shows as
 * a ratio with its spread, not against figures from another day. Loopback only, bounded in time.
 * `--defaults` runs both as `serve` starts with no flags (each build's own worker count and heap
 * flags) and loads them over two connections, so that two workers would each get one.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { frontend, policyDir, writeBodies, type RequestShape } from './estate.js';
import { h2load, loadgens, startServed, type LoadResult } from './processes.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const defaults = process.argv.includes('--defaults');
const [other, roundsArg] = process.argv.slice(2).filter((arg) => arg !== '--defaults');
const rounds = Number(roundsArg ?? 3);
const connections = defaults ? 2 : 1;
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
if (other === undefined) throw new Error('usage: npm run bench:compare -- OTHER_CHECKOUT [ROUNDS] [--defaults]');

const work = mkdtempSync(join(tmpdir(), 'gatehouse-compare-'));
const dir = policyDir(join(root, 'policies'), 100);
const orders = (i: number): RequestShape => ({ principal: frontend, path: `/api/orders/${i}`, requestId: `r-${i}` });
const repeated = writeBodies(join(work, 'one.bin'), [orders(42)]);
const distinct = writeBodies(join(work, 'many.bin'), Array.from({ length: 5000 }, (_, i) => orders(i)));
const builds = { this: join(root, 'dist', 'src', 'main.js'), other: join(other, 'dist', 'src', 'main.js') };

async function measure(main: string): Promise<{ repeated: LoadResult; distinct: LoadResult; rssMb: number }> {
  const server = await startServed([main, 'serve', '--policies', dir, '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', ...(defaults ? [] : ['--workers', '1'])], undefined, 60);
  try {
    const result = {
      repeated: await h2load(server.grpc, repeated, seconds, connections, join(work, 'h2.log')),
      distinct: await loadgens(join(here, 'loadgen.js'), connections, { target: server.grpc, bodies: distinct, concurrency: 64 / connections, seconds }),
    };
    return { ...result, rssMb: server.rssMb() };
  } finally {
    await server.stop();
  }
}

const results: Record<'this' | 'other', { repeated: LoadResult; distinct: LoadResult; rssMb: number }[]> = { this: [], other: [] };
for (let round = 0; round < rounds; round++) {
  // Alternate who goes first, so warming of the machine favours neither.
  const order = round % 2 === 0 ? (['this', 'other'] as const) : (['other', 'this'] as const);
  for (const which of order) results[which].push(await measure(builds[which]));
  process.stderr.write(`compare: round ${round + 1} of ${rounds}\n`);
}

const spread = (values: number[]): string => `${Math.round(Math.min(...values))}–${Math.round(Math.max(...values))}`;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const out = ['| load | this req/s (min–max) | other req/s (min–max) | ratio of medians | this p99 ms | other p99 ms |', '|---|---:|---:|---:|---:|---:|'];
for (const load of ['repeated', 'distinct'] as const) {
  const a = results.this.map((r) => r[load]);
  const b = results.other.map((r) => r[load]);
  const ratio = median(a.map((r) => r.rps)) / median(b.map((r) => r.rps));
  out.push(`| ${load} | ${spread(a.map((r) => r.rps))} | ${spread(b.map((r) => r.rps))} | ${(100 * ratio).toFixed(0)}% | ${median(a.map((r) => r.p99)).toFixed(2)} | ${median(b.map((r) => r.p99)).toFixed(2)} |`);
}
out.push(`RSS of all processes after both loads, MiB (min–max): this ${spread(results.this.map((r) => r.rssMb))}, other ${spread(results.other.map((r) => r.rssMb))}`);
process.stdout.write(`${out.join('\n')}\n(${rounds} rounds of ${seconds} s each, 100 policies, mTLS, ${defaults ? 'each build at its default worker count and heap flags, two connections' : 'one worker'})\n`);
