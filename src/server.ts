import type * as grpc from '@grpc/grpc-js';
import { AggregatorRegistry } from 'prom-client';
import { generatedKeyEnv, startAssertions } from './assertion/index.js';
import { forwardAuthPath, type Config } from './config.js';
import { noLifecycle } from './core/decide.js';
import { resolverFromConfig } from './identity/resolver-from-config.js';
import type { KubernetesRuntime } from './kubernetes/index.js';
import { DecisionLog, type LineSink } from './log/decision-log.js';
import { decisionSink } from './log/decision-sink.js';
import { LossNotice } from './log/loss-notice.js';
import { opsLog } from './log/ops-log.js';
import { recordDecision } from './log/record-decision.js';
import { CheckPipeline } from './pipeline/check-pipeline.js';
import { ServingPolicies } from './serve/serving-policies.js';
import { serverTokens } from './serve/token-verification.js';
import { bindGrpc, createGrpcServer, HealthState } from './transport/grpc-server.js';
import { createHttpAuthzServer, type HttpAuthzServer } from './transport/http-authz-server.js';
import { createHttpServer, type ReadinessReport } from './transport/http-server.js';
import { listenFailure } from './transport/listen-failure.js';
import { hostOf, listenHttp } from './transport/listen-http.js';
import { addressMatcher } from './net/cidr.js';
import { Metrics } from './transport/metrics.js';
import type { Telemetry } from './telemetry/telemetry.js';

export interface RunningServer {
  readonly grpcPort: number;
  readonly httpPort: number;
  /** The HTTP authorization port; 0 when `httpAuthz.enabled` is off. */
  readonly httpAuthzPort: number;
  /** Resolves once a shutdown has finished. */
  readonly stopped: Promise<void>;
  shutdown(reason: string): Promise<void>;
}

/** How this process takes part: alone, or as one of several workers under a primary (cluster.ts). */
export type ServerRole =
  | { readonly kind: 'single' }
  | {
      readonly kind: 'worker';
      /** Decision lines go to the primary, which writes them. */
      readonly sink: LineSink;
      readonly onReadiness: (report: ReadinessReport) => void;
    };

/** How long an uncaught exception leaves the decision log to hand on its lines before the process exits. */
const uncaughtFlushMs = 2000;

/** One server process: config → policies → identity → the Check pipeline → servers → signals. */
export async function startServer(config: Config, role: ServerRole = { kind: 'single' }): Promise<RunningServer> {
  const metrics = processMetrics(role);
  const log = new DecisionLog(role.kind === 'worker' ? role.sink : decisionSink(config, new LossNotice(metrics.decisionLogDropped)));
  const health = new HealthState();
  let draining = false;
  // Before anything that keeps the process alive: a bad key file stops the start.
  const assertions = await startAssertions(config.response.assertion, {
    log: (level, message, meta) => opsLog.log(level, message, meta),
    generatedKeyPem: role.kind === 'worker' ? process.env[generatedKeyEnv] : undefined,
  });
  delete process.env[generatedKeyEnv];
  const kube = await kubernetesRuntime(config, metrics);
  const policies = new ServingPolicies(config.policies, kube, metrics);
  const { tokens, keySources } = serverTokens(config, kube);
  const telemetry = await telemetryRuntime(config, metrics);

  const pipeline = new CheckPipeline({
    identity: resolverFromConfig(config, tokens),
    policies,
    lifecycle: () => kube?.lifecycle ?? noLifecycle,
    mode: { dryRun: config.mode === 'dry-run', dryRunNamespaces: new Set(config.dryRunNamespaces) },
    request: config.request,
    response: config.response,
    limits: config.limits,
    assertions: assertions?.minter,
    record: recordDecision(log, metrics, telemetry?.decisions),
    tracing: telemetry?.tracing,
  });
  const grpcServer = createGrpcServer(pipeline, health, { maxMessageBytes: config.limits.maxMessageBytes, reflection: config.grpcReflection });
  // Every process that decides serves it: with workers, node:cluster shares its port among them as the gRPC port's.
  const httpAuthz = config.httpAuthz.enabled
    ? createHttpAuthzServer(pipeline, {
        envoyPathPrefix: config.httpAuthz.envoyPathPrefix,
        forwardAuthPath,
        trustedProxy: addressMatcher(config.httpAuthz.trustedProxies),
        maxHeaderBytes: config.limits.maxHeaderBytes,
        decisionHeader: config.response.decisionHeader,
      })
    : undefined;

  const readiness = (): ReadinessReport => ({
    // Stale watches are reported, not made unready: an unready gatehouse would fail every Check,
    // mTLS callers included, while the stale policy (failClosed) already refuses bound tokens.
    ready: !draining && policies.current() !== undefined,
    detail: { draining, kubernetes: kube?.readiness().detail ?? null, policyVersion: policies.version, reloadErrors: policies.reloadErrors() },
  });
  // A worker reports readiness to its primary, which serves HTTP for all of them.
  const httpServer = role.kind === 'single' ? createHttpServer({ metrics: metrics.registry, readiness, routes: assertions?.routes }) : undefined;
  const report = role.kind === 'worker' ? () => role.onReadiness(readiness()) : () => undefined;
  policies.store.on('reloaded', () => {
    health.set(!draining);
    report();
  });
  policies.store.on('reloadFailed', report);
  const reportTimer = setInterval(report, 1000);
  reportTimer.unref();

  for (const source of keySources.values()) source.start();
  await policies.store.start();
  const grpcPort = await bindGrpc(grpcServer, config.listen);
  // A bound gRPC port would keep alive a process that failed to start and cannot report health.
  const httpPort = httpServer
    ? await listenHttp(httpServer, config.httpListen).catch((err: unknown) => Promise.reject((grpcServer.forceShutdown(), err)))
    : 0;
  const httpAuthzPort = httpAuthz
    ? await listenHttpAuthz(httpAuthz, config.httpAuthz.listen).catch(async (err: unknown) => {
        grpcServer.forceShutdown();
        if (httpServer) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
        throw err;
      })
    : 0;
  report();

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let shutting: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    shutting ??= (async () => {
      opsLog.info('shutting down', { reason, inFlight: pipeline.pending });
      draining = true;
      health.set(false);
      report();
      clearInterval(reportTimer);
      policies.store.stop();
      for (const source of keySources.values()) source.close();
      assertions?.close();
      kube?.stop();
      // An open Watch stream keeps its session open, so tryShutdown would wait out the grace period.
      health.endWatches();
      await Promise.all([drainGrpc(grpcServer, config.shutdownGraceSeconds * 1000), httpAuthz?.close(config.shutdownGraceSeconds * 1000)]);
      if (httpServer) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await Promise.all([log.close(), telemetry?.shutdown()]);
      opsLog.info('stopped');
      resolveStopped();
    })();
    return shutting;
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  // Node would exit at once and the decision lines not yet handed on would die with the process:
  // they get a moment to go (in a worker, its primary counts whatever still does not arrive).
  process.once('uncaughtException', (err) => {
    opsLog.error('uncaught exception; exiting', { error: err.stack ?? String(err) });
    setTimeout(() => process.exit(1), uncaughtFlushMs);
    void log.close().finally(() => process.exit(1));
  });
  // Said once the signals are handled: a SIGTERM sent on reading it drains instead of killing.
  if (role.kind === 'single') {
    opsLog.info('gatehouse serving', {
      grpc: `${hostOf(config.listen)}:${grpcPort}`,
      http: `${hostOf(config.httpListen)}:${httpPort}`,
      ...(httpAuthz ? { httpAuthz: `${hostOf(config.httpAuthz.listen)}:${httpAuthzPort}` } : {}),
      policyVersion: policies.version,
    });
  }
  return { grpcPort, httpPort, httpAuthzPort, stopped, shutdown };
}

/**
 * This process's metrics. The primary's AggregatorRegistry asks each worker for its registry
 * over IPC; constructing one in the worker is what makes prom-client answer those requests.
 */
function processMetrics(role: ServerRole): Metrics {
  const metrics = new Metrics(role.kind === 'worker' ? 'worker' : 'single');
  if (role.kind === 'worker') {
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([metrics.registry]);
  }
  return metrics;
}

/** Loaded only when enabled: client-node takes about half a second to import. */
async function kubernetesRuntime(config: Config, metrics: Metrics): Promise<KubernetesRuntime | undefined> {
  if (!config.kubernetes.enabled) return undefined;
  const { startKubernetes } = await import('./kubernetes/index.js');
  return startKubernetes(config.kubernetes, {
    trustDomains: config.identity.trustDomains,
    audiences: [...new Set(config.identity.jwt.filter((issuer) => issuer.kind === 'kubernetes').flatMap((issuer) => issuer.audiences))],
    log: (msg, meta) => opsLog.info(msg, meta),
    metrics: { stale: (isStale) => metrics.kubernetesStale.set(isStale ? 1 : 0) },
  });
}

/** Loaded only when on: the OpenTelemetry SDK takes about a second to import. */
async function telemetryRuntime(config: Config, metrics: Metrics): Promise<Telemetry | undefined> {
  if (config.telemetry.otlp.endpoint === '') return undefined;
  const { startTelemetry } = await import('./telemetry/telemetry.js');
  return startTelemetry(config.telemetry, {
    dropped: (signal, count) => metrics.telemetryDropped.inc({ signal }, count),
    log: (message, meta) => opsLog.warn(message, meta),
  });
}

/** Stops accepting calls, lets in-flight Checks finish, and forces the rest after the grace period. */
function drainGrpc(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

function listenHttpAuthz(server: HttpAuthzServer, hostPort: string): Promise<number> {
  const port = Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
  return server.listen(port, hostOf(hostPort).replace(/^\[|\]$/g, '')).catch((err: unknown) => Promise.reject(listenFailure(hostPort, 'httpAuthz.listen', err)));
}
