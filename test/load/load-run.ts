/**
 * A steady open-loop load against the real server process, driven by bench/loadgen.js in its own
 * process (a grpc-js client would saturate its core before the server does). What a run returns
 * lets a test check that no call failed, that the decision log has exactly one line per Check,
 * and that memory stays flat.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { frontend, writeBodies, type RequestShape } from '../../bench/estate.js';
import { examplePolicyDir, httpGet, projectRoot, scratchDir, startGatehouse, waitFor, type ServerProcess } from '../support/server-process.js';
import type { LoadResult } from '../../bench/processes.js';

const run = promisify(execFile);
const loadgenScript = join(projectRoot, 'dist', 'bench', 'loadgen.js');

/** Requests cycled by the load generator, and the CheckResponse status each must get. */
const mix: readonly (RequestShape & { status: number })[] = [
  { principal: frontend, path: '/api/orders/1', status: 0 },
  { principal: frontend, path: '/api/orders/2?expand=items', status: 0 },
  { principal: frontend, method: 'DELETE', path: '/api/orders/3', status: 7 },
  { principal: 'spiffe://cluster.local/ns/ci/sa/builder', path: '/api/orders/4', status: 7 },
  { path: '/api/orders/5', status: 16 },
  { path: '/healthz', status: 0 },
  { principal: frontend, path: '/api/orders/%2F..%2Fadmin', status: 7 },
  { principal: 'spiffe://evil.example/ns/shop/sa/frontend', path: '/api/orders/6', status: 16 },
];

export interface LoadOptions {
  readonly seconds: number;
  /** Requests per second offered, open loop. */
  readonly rate: number;
  readonly concurrency: number;
  readonly warmupSeconds: number;
  readonly sampleEveryMs: number;
}

/** bench/loadgen.js's result line, with the warm-up included in `total`. */
export interface LoadgenResult extends LoadResult {
  readonly checkStatus: Record<string, number>;
  readonly total: { readonly requests: number; readonly failures: number; readonly checkStatus: Record<string, number> };
}

export interface LoadRun {
  readonly server: ServerProcess;
  /** The decision log file's lines, read once the server had written one per request. */
  readonly lines: readonly string[];
  readonly result: LoadgenResult;
  /** Resident memory of the server (and its V8 heap in use), MB, with seconds since the load started. */
  readonly rss: readonly Sample[];
  /** The expected CheckResponse status per request, in cycle order. */
  readonly expectedStatuses: readonly number[];
  readonly droppedMetric: number;
  readonly logFile: string;
}

export interface Sample {
  readonly atSeconds: number;
  readonly mb: number;
  readonly heapMb: number;
}

export function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) / 1024;
}

/**
 * Starts a server, runs the load, and waits until every decision line is in. The caller stops
 * the server. Decision lines go to a file rather than to stdout: a pipe to this test process
 * would make the server's memory depend on how fast jest reads it on a busy machine (the log
 * writer holds up to 64 MiB of lines for a slow reader), which is not what is measured here.
 */
export async function runLoad(options: LoadOptions): Promise<LoadRun> {
  const dir = await scratchDir('load');
  const bodies = writeBodies(join(dir, 'bodies.bin'), mix);
  const logFile = join(dir, 'decisions.log');
  const server = await startGatehouse({ policies: examplePolicyDir, configYaml: `decisionLog:\n  stdout: false\n  file: "${logFile}"\n` });
  const pid = server.child.pid!;
  const rss: Sample[] = [];
  const started = performance.now();
  const sample = async (): Promise<void> => {
    const atSeconds = (performance.now() - started) / 1000;
    const mb = rssMb(pid);
    const metrics = await httpGet(server, '/metrics').catch(() => ({ body: '' }));
    const heap = Number(/^gatehouse_nodejs_heap_size_used_bytes (\S+)$/m.exec(metrics.body)?.[1] ?? NaN);
    rss.push({ atSeconds, mb, heapMb: heap / 1024 / 1024 });
  };
  const sampler = setInterval(() => void sample(), options.sampleEveryMs);
  let result: LoadgenResult;
  try {
    const args = { target: server.grpcTarget, bodies, concurrency: options.concurrency, seconds: options.seconds, rate: options.rate, warmupSeconds: options.warmupSeconds };
    const { stdout } = await run(process.execPath, [loadgenScript, JSON.stringify(args)], {
      maxBuffer: 1 << 20,
      timeout: (options.seconds + options.warmupSeconds + 60) * 1000,
    });
    result = JSON.parse(stdout) as LoadgenResult;
  } finally {
    clearInterval(sampler);
  }
  await sample();
  const readLines = (): string[] => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(0, -1);
    } catch {
      return [];
    }
  };
  const lines = await waitFor('a decision line per request', () => {
    const now = readLines();
    return now.length >= result.total.requests ? now : undefined;
  }, 30_000, 200).catch(() => readLines());
  const metrics = (await httpGet(server, '/metrics')).body;
  const droppedMetric = Number(/^gatehouse_decision_log_dropped_total (\S+)$/m.exec(metrics)?.[1] ?? NaN);
  rss.sort((a, b) => a.atSeconds - b.atSeconds);
  return { server, lines, result, rss, expectedStatuses: mix.map((m) => m.status), droppedMetric, logFile };
}
