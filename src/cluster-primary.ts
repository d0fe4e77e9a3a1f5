import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Registry } from 'prom-client';
import { startAssertions } from './assertion/index.js';
import type { Config } from './config.js';
import { ErrorCode, GatehouseError } from './errors.js';
import { opsLog } from './log/ops-log.js';
import type { LineSink } from './log/decision-log.js';
import { decisionSink, hostOf, listenHttp } from './server.js';
import { createHttpServer, type ReadinessReport } from './transport/http-server.js';
import { decisionLogDroppedCounter } from './transport/metrics.js';

/** Messages a worker sends its primary. */
export type WorkerMessage =
  | { readonly t: 'serving'; readonly grpcPort: number }
  | { readonly t: 'ready'; readonly report: ReadinessReport }
  | { readonly t: 'log'; readonly lines: readonly string[] };

/**
 * Supervises N workers that share the gRPC port (node:cluster hands each new connection to one
 * of them). The primary decides nothing: it writes the workers' decision lines, so there is one
 * writer and one line per decision, and serves health, readiness and merged metrics on HTTP.
 * Each worker loads policies and keys itself, so a reload reaches every worker.
 */
export async function runPrimary(config: Config, workers: number): Promise<void> {
  const aggregator = new AggregatorRegistry();
  const own = new Registry();
  const dropped = decisionLogDroppedCounter([own]);
  const sink = decisionSink(config, { decisionLogDropped: dropped });
  const reports = new Map<number, ReadinessReport>();
  let stopping = false;
  let grpcPort = 0;
  // Workers sign; the primary serves the key set. A generated key is handed to every worker.
  const assertions = await startAssertions(config.response.assertion, { log: (level, message, meta) => opsLog.log(level, message, meta) });
  const workerEnv = assertions?.workerEnv() ?? {};

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

  const serving = new Promise<void>((resolve, reject) => {
    let up = 0;
    const onMessage = (worker: Worker, message: WorkerMessage): void => {
      if (message.t === 'log') sink?.write(message.lines);
      else if (message.t === 'ready') reports.set(worker.id, message.report);
      else if (message.t === 'serving') {
        grpcPort = message.grpcPort;
        up += 1;
        if (up === workers) resolve();
      }
    };
    cluster.on('message', onMessage);
    cluster.on('exit', (worker, code, signal) => {
      reports.delete(worker.id);
      if (stopping) return;
      // A worker that dies is replaced; one that cannot start at all stops the whole server.
      if (up < workers) {
        // The worker has already said why on stderr (a port in use, a bad key file); this
        // line only ties its exit to the start failing, without a stack to read past.
        reject(new GatehouseError(ErrorCode.config, `worker ${worker.id} exited during start (code ${code ?? signal})`));
        return;
      }
      opsLog.error('worker exited; starting another', { worker: worker.id, code, signal });
      cluster.fork(workerEnv);
    });
  });
  for (let i = 0; i < workers; i++) cluster.fork(workerEnv);
  let httpPort: number;
  try {
    await serving;
    httpPort = await listenHttp(httpServer, config.httpListen);
  } catch (err) {
    // Workers left running would keep a server up that cannot report its health.
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    throw err;
  }
  opsLog.info('gatehouse serving', { grpc: `${hostOf(config.listen)}:${grpcPort}`, http: `${hostOf(config.httpListen)}:${httpPort}`, workers });

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
  });
  assertions?.close();
  await new Promise<void>((resolve) => httpServer.close(() => resolve()));
  await sink?.close();
  opsLog.info('stopped');
}

/** In a worker: decision lines go to the primary in the batches DecisionLog already makes. */
export function primarySink(): LineSink {
  let sending = 0;
  let drained: (() => void) | undefined;
  return {
    write(lines) {
      sending += 1;
      process.send?.({ t: 'log', lines } satisfies WorkerMessage, undefined, {}, () => {
        sending -= 1;
        if (sending === 0) drained?.();
      });
    },
    async close() {
      if (sending > 0) await new Promise<void>((resolve) => (drained = resolve));
    },
  };
}

export function tellPrimary(message: WorkerMessage): void {
  process.send?.(message);
}
