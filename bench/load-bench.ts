/**
 * `npm run bench:load` (also the last part of `npm run bench`): how long a policy set of 100,
 * 1,000 and 10,000 policies takes to load, phase by phase, the way serving loads it (read the
 * directory, prepare the engine, build the authorizer's reads and slicing index). Each run is a
 * fresh process: a cold load, then a reload after one policy of the filler file changed (Cedar's
 * wasm is warm by then, as it is for a server that reloads). Three runs per size; the spread is
 * their minimum and maximum. The longest event-loop stall of each load is measured too, since a
 * serving process answers nothing while a load holds the loop, and the CPU time of the loop's own
 * thread beside that of the whole process.
 * Environment: BENCH_LOAD_SIZES (default "100,1000,10000"), BENCH_LOAD_RUNS (default 3),
 * BENCH_LOAD_THREADS (threads to parse and validate in; default gatehouse's own, 0 for none).
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CedarAuthorizer } from '../src/policy/authorizer.js';
import { PolicyEngine } from '../src/policy/cedar/engine.js';
import type { LoadPhase, PhaseClock } from '../src/policy/load-phases.js';
import { readPolicyDir } from '../src/policy/loader.js';
import { policyReads } from '../src/policy/reads.js';
import { PolicySlicer } from '../src/policy/slicing/slicer.js';
import { policyDir } from './estate.js';

const run = promisify(execFile);
const script = fileURLToPath(import.meta.url);
const root = join(script, '..', '..', '..');
const threads = process.env.BENCH_LOAD_THREADS === undefined ? undefined : Number(process.env.BENCH_LOAD_THREADS);

/** Every phase, in the order a load passes through them. */
const phases = ['read', 'split', 'parse', 'validate', 'version', 'preparse', 'reads', 'index'] as const;
type Phase = (typeof phases)[number];

interface LoadTimes {
  readonly phases: Readonly<Record<Phase, number>>;
  readonly totalMs: number;
  /** The longest the event loop went without turning during the load. */
  readonly stallMs: number;
  /** CPU time of the whole process (every thread) during the load: what a busy machine makes slower. */
  readonly cpuMs: number;
  /** CPU time of the event loop's thread alone during the load. */
  readonly mainCpuMs: number;
  /** Resident memory once loaded, the load's threads gone. */
  readonly rssMb: number;
}

interface RunResult {
  readonly cold: LoadTimes;
  readonly reload: LoadTimes;
}

class Stopwatch implements PhaseClock {
  readonly times = Object.fromEntries(phases.map((phase) => [phase, 0])) as Record<Phase, number>;

  time<T>(phase: LoadPhase | Phase, work: () => T): T {
    const start = performance.now();
    const add = (): void => {
      this.times[phase] += performance.now() - start;
    };
    const result = work();
    if (result instanceof Promise) return result.finally(add) as T;
    add();
    return result;
  }
}

/** The longest time between two turns of the event loop while it runs: a timer every millisecond notes each turn. */
class StallWatch {
  longestMs = 0;
  #last = performance.now();
  readonly #timer = setInterval(() => {
    const now = performance.now();
    this.longestMs = Math.max(this.longestMs, now - this.#last);
    this.#last = now;
  }, 1);

  stop(): void {
    const now = performance.now();
    this.longestMs = Math.max(this.longestMs, now - this.#last);
    clearInterval(this.#timer);
  }
}

/** One load as serving does it: the directory read, the engine prepared (after `earlier`, on a reload), the authorizer's analysis built. */
async function timedLoad(dir: string, earlier?: PolicyEngine): Promise<LoadTimes & { engine: PolicyEngine }> {
  const stalls = new StallWatch();
  const clock = new Stopwatch();
  const cpu = process.cpuUsage();
  const mainCpu = process.threadCpuUsage();
  const start = performance.now();
  const readStart = performance.now();
  const read = await readPolicyDir(dir);
  clock.times.read = performance.now() - readStart;
  if (!read.ok) throw new Error(`${dir} does not read: ${JSON.stringify(read.problems)}`);
  const prepared = await PolicyEngine.load(read.input, { clock, earlier, threads });
  if (!prepared.ok) throw new Error(`${dir} does not load: ${JSON.stringify(prepared.problems.slice(0, 3))}`);
  const { engine } = prepared;
  clock.time('reads', () => policyReads(engine.policies.map((policy) => engine.policyJson(policy.id)!)));
  clock.time('index', () => new PolicySlicer(engine));
  const totalMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const usedMain = process.threadCpuUsage(mainCpu);
  // The authorizer the server builds does both of the above; built once more to be sure it loads.
  new CedarAuthorizer(engine);
  // One more turn, so a stall at the very end of the load is recorded too.
  await new Promise((resolve) => setTimeout(resolve, 10));
  stalls.stop();
  return { phases: clock.times, totalMs, stallMs: stalls.longestMs, cpuMs: (used.user + used.system) / 1000, mainCpuMs: (usedMain.user + usedMain.system) / 1000, rssMb: process.memoryUsage().rss / 2 ** 20, engine };
}

async function child(dir: string): Promise<void> {
  const { engine, ...cold } = await timedLoad(dir);
  const filler = join(dir, 'filler.cedar');
  writeFileSync(filler, readFileSync(filler, 'utf8').replace('context.path like "/api/*"', 'context.path like "/api/v2/*"'));
  const { engine: _reloaded, ...reload } = await timedLoad(dir, engine);
  process.stdout.write(JSON.stringify({ cold, reload } satisfies RunResult));
}

async function measure(size: number): Promise<RunResult> {
  const dir = policyDir(join(root, 'policies'), size);
  try {
    const { stdout } = await run(process.execPath, [script, '--child', dir], { maxBuffer: 1 << 20 });
    return JSON.parse(stdout) as RunResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const spread = (values: readonly number[]): string => `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}`;

/** The load bench's report: one row per size and kind, phases as medians of the runs. */
export async function loadBench(sizes: readonly number[], runs: number): Promise<string[]> {
  const out = [
    `policy-set load (ms; ${runs} runs, each a fresh process; phases, stall, CPU, main CPU and RSS are medians; load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores at the start)`,
    '',
    `| policies | load | ${phases.join(' | ')} | total | total min–max | runs | longest stall | CPU | CPU min–max | main CPU | RSS MB |`,
    `|---|---|${phases.map(() => '---:').join('|')}|---:|---:|---|---:|---:|---:|---:|---:|`,
  ];
  for (const size of sizes) {
    const results: RunResult[] = [];
    for (let i = 0; i < runs; i++) {
      process.stderr.write(`bench: load ${size} policies, run ${i + 1} of ${runs}…\n`);
      results.push(await measure(size));
    }
    for (const kind of ['cold', 'reload'] as const) {
      const loads = results.map((result) => result[kind]);
      const totals = loads.map((load) => load.totalMs);
      const cells = phases.map((phase) => fmt(median(loads.map((load) => load.phases[phase]))));
      out.push(`| ${size} | ${kind} | ${cells.join(' | ')} | ${fmt(median(totals))} | ${spread(totals)} | ${totals.map(fmt).join(', ')} | ${fmt(median(loads.map((load) => load.stallMs)))} | ${fmt(median(loads.map((load) => load.cpuMs)))} | ${spread(loads.map((load) => load.cpuMs))} | ${fmt(median(loads.map((load) => load.mainCpuMs)))} | ${median(loads.map((load) => load.rssMb)).toFixed(0)} |`);
    }
  }
  return out;
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]!);
} else if (process.argv[1] === script) {
  const sizes = (process.env.BENCH_LOAD_SIZES ?? '100,1000,10000').split(',').map(Number);
  const runs = Number(process.env.BENCH_LOAD_RUNS ?? 3);
  process.stdout.write(`${(await loadBench(sizes, runs)).join('\n')}\n`);
}
