/** Child processes of the benchmark: servers that announce their ports, and load generators. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Served {
  readonly child: ChildProcess;
  /** The gRPC address; '' for a server without one (the HTTP floor). */
  readonly grpc: string;
  /** Every `host:port` the serving line names, by key (`grpc`, `http`, `httpAuthz`). */
  readonly addresses: Readonly<Record<string, string>>;
  /** The health and metrics address, when the server names one. */
  readonly http?: string;
  stop(): Promise<void>;
  /** Resident memory of the process and its workers, in MB. */
  rssMb(): number;
  /** Resident memory of each process: the server first, then its workers. */
  processes(): ProcessRss[];
}

export interface ProcessRss {
  readonly pid: number;
  readonly rssMb: number;
  /** User and system CPU time so far: under a shared machine's contention, a steadier cost per Check than req/s. */
  readonly cpuSeconds: number;
}

/** Linux's USER_HZ, the unit of /proc/PID/stat's times, is 100 on every architecture gatehouse runs on. */
const ticksPerSecond = 100;

/** Starts a server and waits for its `… serving` JSON line on stderr (a server that does not say it in time is stopped). */
export function startServed(args: readonly string[], stdoutFile?: number, startSeconds = 20): Promise<Served> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', stdoutFile ?? 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`${args.join(' ')}: no serving line within ${startSeconds} s\n${buffered}`));
    }, startSeconds * 1000);
    child.stderr!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n').slice(0, -1).find((text) => /"message":"[^"]*serving"/.test(text));
      if (line === undefined) return;
      const addresses = Object.fromEntries([...line.matchAll(/"(\w+)":"([^"]*:\d+)"/g)].map((match) => [match[1]!, match[2]!]));
      clearTimeout(timer);
      child.stderr!.removeAllListeners('data');
      child.stderr!.resume();
      resolve({
        child,
        grpc: addresses['grpc'] ?? '',
        addresses,
        http: addresses['http'],
        rssMb: () => treeRss(child.pid!).reduce((sum, p) => sum + p.rssMb, 0),
        processes: () => treeRss(child.pid!),
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}\n${buffered}`)));
  });
}

function treeRss(pid: number): ProcessRss[] {
  const pids = [pid];
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    if (children) pids.push(...children.split(/\s+/).map(Number));
  } catch {
    // the process is gone
  }
  const out: ProcessRss[] = [];
  for (const p of pids) {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
      // The fields after the command name (which may hold spaces), from the state on: utime and stime are the 12th and 13th.
      const statLine = readFileSync(`/proc/${p}/stat`, 'utf8');
      const stat = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: p, rssMb: kb / 1024, cpuSeconds: (Number(stat[11]) + Number(stat[12])) / ticksPerSecond });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

export interface LoadResult {
  readonly requests: number;
  readonly failures: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly checkStatus?: Record<string, number>;
  /** HTTP statuses counted by http-loadgen. */
  readonly httpStatus?: Record<string, number>;
}

export async function loadgen(script: string, options: { target: string; bodies: string; concurrency: number; seconds: number; rate?: number }): Promise<LoadResult> {
  const args = { warmupSeconds: 1, rate: 0, ...options };
  const { stdout } = await run(process.execPath, [script, JSON.stringify(args)], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as LoadResult;
}

/**
 * `count` generators at once, each on its own connection (node:cluster hands a worker connections,
 * not requests): their counts summed, their latencies the worse of them. `rate` is the total.
 */
export async function loadgens(script: string, count: number, options: { target: string; bodies: string; concurrency: number; seconds: number; rate?: number }): Promise<LoadResult> {
  const runs = await Promise.all(Array.from({ length: count }, () => loadgen(script, { ...options, rate: (options.rate ?? 0) / count })));
  const sum = (pick: (r: LoadResult) => number): number => runs.reduce((total, r) => total + pick(r), 0);
  const worst = (pick: (r: LoadResult) => number): number => Math.max(...runs.map(pick));
  return { requests: sum((r) => r.requests), failures: sum((r) => r.failures), rps: sum((r) => r.rps), p50: worst((r) => r.p50), p99: worst((r) => r.p99), p999: worst((r) => r.p999) };
}

/**
 * h2load with one repeated request. It counts any HTTP 200 as a success, so the gRPC status is
 * checked separately by the caller; latencies come from its per-request log.
 */
export async function h2load(target: string, body: string, seconds: number, connections: number, logFile: string): Promise<LoadResult> {
  const { stdout } = await run(
    'h2load',
    [
      '-c', String(connections), '-m', '64', '-D', String(seconds), '--warm-up-time=1',
      `--data=${body}`, '-H', 'content-type: application/grpc', '-H', 'te: trailers',
      `--log-file=${logFile}`, `http://${target}/envoy.service.auth.v3.Authorization/Check`,
    ],
    { maxBuffer: 16 << 20 },
  );
  return h2loadResult(stdout, logFile);
}

function h2loadResult(stdout: string, logFile: string): LoadResult {
  const rps = Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(stdout)?.[1] ?? 0);
  const failed = Number(/(\d+) failed/.exec(stdout)?.[1] ?? 0);
  const errored = Number(/(\d+) errored/.exec(stdout)?.[1] ?? 0);
  const elapsed = readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => Number(line.split('\t')[2]) / 1000)
    .sort((a, b) => a - b);
  const pct = (p: number): number => elapsed[Math.min(elapsed.length - 1, Math.floor((p / 100) * elapsed.length))] ?? 0;
  return { requests: elapsed.length, failures: failed + errored, rps, p50: pct(50), p99: pct(99), p999: pct(99.9) };
}

/** bench/http-loadgen.ts over `connections` keep-alive HTTP/1.1 connections, one request in flight on each. */
export async function httpLoadgen(script: string, options: { target: string; requests: string; connections: number; seconds: number }): Promise<LoadResult> {
  const args = { warmupSeconds: 1, ...options };
  const { stdout } = await run(process.execPath, [script, JSON.stringify(args)], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as LoadResult;
}

/**
 * h2load over HTTP/1.1 (`--h1`), one repeated request, one in flight per connection. Any status
 * below 400 counts as a success, so the caller checks the answers first with http-loadgen.
 */
export async function h2loadHttp1(
  url: string,
  headers: Readonly<Record<string, string>>,
  seconds: number,
  connections: number,
  logFile: string,
): Promise<LoadResult> {
  const headerArgs = Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]);
  const { stdout } = await run('h2load', ['--h1', '-c', String(connections), '-m', '1', '-D', String(seconds), '--warm-up-time=1', ...headerArgs, `--log-file=${logFile}`, url], {
    maxBuffer: 16 << 20,
  });
  return h2loadResult(stdout, logFile);
}
