import cluster, { type Worker } from 'node:cluster';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AggregatorRegistry, Registry } from 'prom-client';
import { startAssertions } from './assertion/index.js';
import type { Config } from './config.js';
import { ErrorCode, errorMessage, GatehouseError } from './errors.js';
import { createDecisionCount, DecisionCount, decisionCountEnv } from './log/decision-count.js';
import type { LineSink } from './log/decision-log.js';
import { decisionSink } from './log/decision-sink.js';
import { LossNotice } from './log/loss-notice.js';
import { opsLog } from './log/ops-log.js';
import { WorkerLedger } from './log/worker-ledger.js';
import { createHttpServer, type ReadinessReport } from './transport/http-server.js';
import { hostOf, listenHttp } from './transport/listen-http.js';
import { decisionLogDroppedCounter, decisionLogLostCounter } from './transport/metrics.js';

/** Messages a worker sends its primary. */
export type WorkerMessage =
  | { readonly t: 'serving'; readonly grpcPort: number; readonly httpAuthzPort: number }
  | { readonly t: 'ready'; readonly report: ReadinessReport }
  /** `last`: the lines the worker has handed on so far, these included, sent or dropped. */
  | { readonly t: 'log'; readonly lines: readonly string[]; readonly last: number };

/**
 * Supervises N workers that share the gRPC port and the HTTP authorization port (node:cluster
 * hands each new connection to one of them). The primary decides nothing: it writes the workers' decision lines, so there is one
 * writer and one line per decision, and serves health, readiness and merged metrics on HTTP.
 * Each worker loads policies and keys itself, so a reload reaches every worker.
 */
export async function runPrimary(config: Config, workers: number): Promise<void> {
  const aggregator = new AggregatorRegistry();
  const own = new Registry();
  const losses = new LossNotice(decisionLogDroppedCounter([own]));
  const lost = decisionLogLostCounter([own]);
  const sink = decisionSink(config, losses);
  const ledgers = new Map<number, WorkerLedger>();
  const reports = new Map<number, ReadinessReport>();
  let stopping = false;
  let grpcPort = 0;
  let httpAuthzPort = 0;
  // Workers sign; the primary serves the key set. A generated key is handed to every worker.
  const assertions = await startAssertions(config.response.assertion, { log: (level, message, meta) => opsLog.log(level, message, meta) });
  const workerEnv = assertions?.workerEnv() ?? {};
  const counts = countDirectory();
  let forks = 0;
  const fork = (): void => {
    const countFile = counts && join(counts, `worker-${++forks}`);
    if (countFile) createDecisionCount(countFile);
    const worker = cluster.fork(countFile ? { ...workerEnv, [decisionCountEnv]: countFile } : workerEnv);
    ledgers.set(worker.id, new WorkerLedger(countFile));
  };

  const httpServer = createHttpServer({
    metrics: {
      contentType: own.contentType,
      metrics: async () => `${await aggregator.clusterMetrics()}\n${await own.metrics()}`,
    },
    routes: assertions?.routes,
    readiness: () => {
      const all = [...reports.values()];
      const ready = !stopping && all.length === workers && all.every((r) => r.ready);
      const versions = new Set(all.map((r) => r.detail.policyVersion ?? null));
      return {
        ready,
        detail: {
          draining: stopping || all.some((r) => r.detail.draining === true),
          policyVersion: versions.size === 1 ? [...versions][0] : [...versions],
          reloadErrors: [...new Set(all.flatMap((r) => (r.detail.reloadErrors as string[] | undefined) ?? []))],
          kubernetes: all[0]?.detail.kubernetes ?? null,
          workers: all.map((r) => ({ ready: r.ready, ...r.detail })),
        },
      };
    },
  });

  const settling = new Set<Promise<void>>();
  const settle = (worker: Worker): number => {
    const ledger = ledgers.get(worker.id);
    ledgers.delete(worker.id);
    try {
      return ledger?.settle() ?? 0;
    } catch (err) {
      opsLog.error('decision lines lost with a worker could not be counted', { worker: worker.id, error: errorMessage(err) });
      return 0;
    }
  };

  const serving = new Promise<void>((resolve, reject) => {
    let up = 0;
    const onMessage = (worker: Worker, message: WorkerMessage): void => {
      if (message.t === 'log') {
        const dropped = ledgers.get(worker.id)?.received(message.last, message.lines.length) ?? 0;
        if (dropped > 0) losses.report(dropped, `worker ${worker.id}`, `more than ${maxQueuedBytes} bytes waiting to go to the primary`);
        sink?.write(message.lines);
      }
      else if (message.t === 'ready') reports.set(worker.id, message.report);
      else if (message.t === 'serving') {
        grpcPort = message.grpcPort;
        httpAuthzPort = message.httpAuthzPort;
        up += 1;
        if (up === workers) resolve();
      }
    };
    cluster.on('message', onMessage);
    cluster.on('exit', (worker, code, signal) => {
      reports.delete(worker.id);
      // A worker that cannot start at all stops the whole server.
      if (!stopping && up < workers) {
        // The worker has already said why on stderr (a port in use, a bad key file); this
        // line only ties its exit to the start failing, without a stack to read past.
        reject(new GatehouseError(ErrorCode.config, `worker ${worker.id} exited during start (code ${code ?? signal})`));
        return;
      }
      // A worker that dies is replaced; once every message it got into its channel has arrived,
      // the lines it answered Checks for and never delivered are counted.
      if (!stopping) fork();
      settling.add(
        drained(worker).then(() => {
          const owed = settle(worker);
          if (owed > 0) lost.inc(owed);
          if (!stopping || owed > 0) {
            opsLog.error(stopping ? 'worker exited during shutdown' : 'worker exited; starting another', {
              worker: worker.id,
              pid: worker.process.pid,
              code,
              signal,
              decisionLinesLost: owed,
            });
          }
        }),
      );
    });
  });
  for (let i = 0; i < workers; i++) fork();
  let httpPort: number;
  try {
    await serving;
    httpPort = await listenHttp(httpServer, config.httpListen);
  } catch (err) {
    // Workers left running would keep a server up that cannot report its health.
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    if (counts) rmSync(counts, { recursive: true, force: true });
    throw err;
  }

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      opsLog.info('shutting down', { reason: signal, workers });
      const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      let left = alive.length;
      if (left === 0) resolve();
      for (const worker of alive) {
        worker.once('exit', () => {
          left -= 1;
          if (left === 0) resolve();
        });
        worker.process.kill('SIGTERM');
      }
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // Said once the signals are handled: a SIGTERM sent on reading it stops the workers instead of orphaning them.
    opsLog.info('gatehouse serving', {
      grpc: `${hostOf(config.listen)}:${grpcPort}`,
      http: `${hostOf(config.httpListen)}:${httpPort}`,
      ...(config.httpAuthz.enabled ? { httpAuthz: `${hostOf(config.httpAuthz.listen)}:${httpAuthzPort}` } : {}),
      workers,
    });
  });
  await Promise.all(settling);
  assertions?.close();
  await new Promise<void>((resolve) => httpServer.close(() => resolve()));
  await sink?.close();
  if (counts) rmSync(counts, { recursive: true, force: true });
  opsLog.info('stopped');
}

/** Lines a worker holds while its channel to the primary is busy; past this, new lines are dropped and counted. */
const maxQueuedBytes = 16 * 1024 * 1024;
/** Lines per message, so that the primary parses small messages and a worker's lines go promptly. */
const linesPerMessage = 64;

/** Resolves once the worker's channel is closed: every message it got into the kernel has arrived. */
function drained(worker: Worker): Promise<void> {
  return worker.isConnected() ? new Promise((resolve) => worker.once('disconnect', resolve)) : Promise.resolve();
}

/** Where workers keep their decision counts; without one, lines lost with a worker go uncounted, and that is said. */
function countDirectory(): string | undefined {
  try {
    return mkdtempSync(join(tmpdir(), 'gatehouse-'));
  } catch (err) {
    opsLog.warn('decision lines lost with a worker that dies will not be counted', { directory: tmpdir(), error: errorMessage(err) });
    return undefined;
  }
}

/**
 * In a worker: decision lines go to the primary in small messages, each with the running number
 * of lines handed on; the count of records taken goes to the file the primary made for it.
 */
export function primarySink(): LineSink {
  const count = openDecisionCount();
  let handed = 0;
  let queuedBytes = 0;
  let sending = 0;
  let untold = false;
  let onDrained: (() => void) | undefined;
  const send = (lines: readonly string[]): void => {
    handed += lines.length;
    const bytes = lines.reduce((sum, line) => sum + line.length, 0);
    // The next message's `last` tells the primary how many were dropped.
    if (queuedBytes + bytes > maxQueuedBytes) {
      untold = true;
      return;
    }
    untold = false;
    queuedBytes += bytes;
    sending += 1;
    process.send?.({ t: 'log', lines, last: handed } satisfies WorkerMessage, undefined, {}, () => {
      queuedBytes -= bytes;
      sending -= 1;
      if (sending === 0) onDrained?.();
    });
  };
  return {
    taken: count && ((n) => count.set(n)),
    write(lines) {
      for (let i = 0; i < lines.length; i += linesPerMessage) send(lines.slice(i, i + linesPerMessage));
    },
    async close() {
      // Lines dropped since the last message are told now, so they count as dropped, not as lost with this worker.
      if (untold) send([]);
      if (sending > 0) await new Promise<void>((resolve) => (onDrained = resolve));
      count?.close();
    },
  };
}

function openDecisionCount(): DecisionCount | undefined {
  const path = process.env[decisionCountEnv];
  delete process.env[decisionCountEnv];
  if (path === undefined) return undefined;
  try {
    return DecisionCount.open(path);
  } catch (err) {
    opsLog.warn('decision lines lost with this worker will not be counted', { file: path, error: errorMessage(err) });
    return undefined;
  }
}

export function tellPrimary(message: WorkerMessage): void {
  process.send?.(message);
}
