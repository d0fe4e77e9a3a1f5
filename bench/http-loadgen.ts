/**
 * A lean HTTP/1.1 load generator: keep-alive connections, one request in flight on each (as a
 * proxy's connection pool asks an authorization service), cycling through pre-encoded requests.
 * Every answer's status is counted; a response it cannot read (no Content-Length, a closed
 * connection) is a failure. h2load repeats one request; this one sends thousands of distinct ones.
 *
 * Run as a child process: `node http-loadgen.js JSON_ARGS`; prints one JSON line of results.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';

interface Args {
  readonly target: string;
  /** A JSON file holding an array of complete HTTP/1.1 requests (head and empty body). */
  readonly requests: string;
  readonly connections: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const requests = (JSON.parse(readFileSync(args.requests, 'utf8')) as string[]).map((text) => Buffer.from(text, 'latin1'));
const [host, port] = [args.target.slice(0, args.target.lastIndexOf(':')), Number(args.target.slice(args.target.lastIndexOf(':') + 1))];
const headEnd = Buffer.from('\r\n\r\n');

let next = 0;
let measuring = false;
let stopAt = 0;
let failures = 0;
const latencies: number[] = [];
const statuses = new Map<number, number>();

/** Status and total length of the response at the start of `buf`, or undefined while it is incomplete. */
function response(buf: Buffer): { status: number; length: number } | 'unreadable' | undefined {
  const end = buf.indexOf(headEnd);
  if (end < 0) return undefined;
  const head = buf.toString('latin1', 0, end);
  const status = Number(head.slice(9, 12));
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (!length || !Number.isInteger(status)) return 'unreadable';
  const total = end + headEnd.length + Number(length[1]);
  return buf.length >= total ? { status, length: total } : undefined;
}

function connection(): Promise<void> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host, port, noDelay: true });
    let buffered: Buffer = Buffer.alloc(0);
    let started = 0;
    const send = (): void => {
      if (performance.now() >= stopAt) {
        socket.end();
        return;
      }
      started = performance.now();
      socket.write(requests[next++ % requests.length]!);
    };
    socket.on('connect', send);
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const answer = response(buffered);
      if (answer === undefined) return;
      if (answer === 'unreadable') {
        failures += 1;
        socket.destroy();
        return;
      }
      buffered = buffered.subarray(answer.length);
      if (measuring) {
        latencies.push(performance.now() - started);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      }
      send();
    });
    socket.on('error', () => {
      if (measuring) failures += 1;
    });
    socket.on('close', () => resolve());
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  stopAt = started + (args.warmupSeconds + args.seconds) * 1000;
  const measured = setTimeout(() => {
    measuring = true;
  }, args.warmupSeconds * 1000);
  const measureStart = started + args.warmupSeconds * 1000;
  await Promise.all(Array.from({ length: args.connections }, connection));
  clearTimeout(measured);
  const elapsed = (performance.now() - measureStart) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  process.stdout.write(
    `${JSON.stringify({
      requests: latencies.length,
      failures,
      rps: latencies.length / elapsed,
      p50: pct(50),
      p99: pct(99),
      p999: pct(99.9),
      httpStatus: Object.fromEntries(statuses),
    })}\n`,
  );
}

void main();
