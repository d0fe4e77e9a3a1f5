/**
 * A lean ext_authz load generator: one HTTP/2 connection, a fixed number of concurrent streams,
 * cycling through pre-encoded gRPC-framed CheckRequests. grpc-js clients saturate their own core
 * long before a server does, so the benchmark speaks HTTP/2 directly. Every answer's grpc-status
 * is checked, and so is the CheckResponse status code against what the caller expects.
 *
 * Run as a child process: `node loadgen.js JSON_ARGS`; prints one JSON line of results.
 */
import { connect, constants } from 'node:http2';
import { readFileSync } from 'node:fs';

interface Args {
  readonly target: string;
  /** A file of length-prefixed gRPC frames, one per request. */
  readonly bodies: string;
  readonly concurrency: number;
  readonly seconds: number;
  /** Requests per second, open loop; 0 = as fast as the server answers. */
  readonly rate: number;
  readonly warmupSeconds: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const frames = splitFrames(readFileSync(args.bodies));
const path = '/envoy.service.auth.v3.Authorization/Check';

function splitFrames(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < buf.length; ) {
    const len = buf.readUInt32BE(at + 1);
    out.push(buf.subarray(at, at + 5 + len));
    at += 5 + len;
  }
  return out;
}

const session = connect(`http://${args.target}`);
session.on('error', (err) => {
  process.stderr.write(`loadgen: ${err.message}\n`);
  process.exit(2);
});

let next = 0;
let done = 0;
let failures = 0;
let measuring = false;
const latencies: number[] = [];
const statusCodes = new Map<number, number>();
// Warm-up included: what the server saw, so a test can match it against the decision log.
const total = { requests: 0, failures: 0, checkStatus: new Map<number, number>() };

function one(): Promise<void> {
  return new Promise((resolve) => {
    const body = frames[next++ % frames.length]!;
    const start = performance.now();
    const stream = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const chunks: Buffer[] = [];
    let grpcStatus = -1;
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('trailers', (trailers) => {
      grpcStatus = Number(trailers['grpc-status'] ?? -1);
    });
    stream.on('close', () => {
      const elapsed = performance.now() - start;
      const response = Buffer.concat(chunks);
      // CheckResponse.status (field 1) → google.rpc.Status.code (field 1): bytes 0a LEN 08 CODE when set.
      const code = response.length > 7 && response[5] === 0x0a && response[7] === 0x08 ? response[8]! : 0;
      total.requests += 1;
      if (grpcStatus !== 0) total.failures += 1;
      else total.checkStatus.set(code, (total.checkStatus.get(code) ?? 0) + 1);
      if (measuring) {
        done += 1;
        latencies.push(elapsed);
        if (grpcStatus !== 0) failures += 1;
        else statusCodes.set(code, (statusCodes.get(code) ?? 0) + 1);
      }
      resolve();
    });
    stream.on('error', () => undefined);
    stream.end(body);
  });
}

async function closedLoop(until: number): Promise<void> {
  const worker = async (): Promise<void> => {
    while (performance.now() < until) await one();
  };
  await Promise.all(Array.from({ length: args.concurrency }, worker));
}

async function openLoop(until: number): Promise<void> {
  const interval = 1000 / args.rate;
  const inFlight = new Set<Promise<void>>();
  let due = performance.now();
  while (performance.now() < until) {
    while (due <= performance.now() && inFlight.size < args.concurrency) {
      const p: Promise<void> = one().then((): void => {
        inFlight.delete(p);
      });
      inFlight.add(p);
      due += interval;
    }
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(inFlight);
}

async function main(): Promise<void> {
  const run = args.rate > 0 ? openLoop : closedLoop;
  await run(performance.now() + args.warmupSeconds * 1000);
  measuring = true;
  const started = performance.now();
  await run(started + args.seconds * 1000);
  const elapsed = (performance.now() - started) / 1000;
  session.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  process.stdout.write(
    `${JSON.stringify({
      requests: done,
      failures,
      rps: done / elapsed,
      p50: pct(50),
      p99: pct(99),
      p999: pct(99.9),
      checkStatus: Object.fromEntries(statusCodes),
      total: { ...total, checkStatus: Object.fromEntries(total.checkStatus) },
    })}\n`,
  );
}

void main();
