import type { Server as HttpServer } from 'node:http';
import type * as grpc from '@grpc/grpc-js';
import { AggregatorRegistry } from 'prom-client';
import { generatedKeyEnv, startAssertions } from './assertion/index.js';
import type { Config } from './config.js';
import { noLifecycle } from './core/decide.js';
import { TokenVerifier } from './identity/token-verifier.js';
import { IssuerKeySource, keySourceFor } from './identity/key-source.js';
import { resolverFromConfig } from './identity/resolver-from-config.js';
import { TokenRouter } from './identity/token-router.js';
import type { KubernetesRuntime } from './kubernetes/index.js';
import { DecisionLog, winstonSink, type LineSink } from './log/decision-log.js';
import { LossNotice } from './log/loss-notice.js';
import { opsLog } from './log/ops-log.js';
import { CedarAuthorizer } from './policy/authorizer.js';
import { formatProblem } from './policy/problem.js';
import { PolicyStore } from './policy/store.js';
import { CheckHandler } from './transport/check-handler.js';
import { bindGrpc, createGrpcServer, HealthState } from './transport/grpc-server.js';
import { createHttpServer, type ReadinessReport } from './transport/http-server.js';
import { listenFailure } from './transport/listen-failure.js';
import { Metrics } from './transport/metrics.js';

export interface RunningServer {
  readonly grpcPort: number;
  readonly httpPort: number;
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

/** One server process: config → policy store → key sources → handler → servers → signals. */
export async function startServer(config: Config, role: ServerRole = { kind: 'single' }): Promise<RunningServer> {
  const metrics = new Metrics(role.kind === 'worker' ? 'worker' : 'single');
  // The primary's AggregatorRegistry asks each worker for these registries over IPC; constructing
  // one here is what makes prom-client answer those requests.
  if (role.kind === 'worker') {
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([metrics.registry]);
  }
  const log = new DecisionLog(role.kind === 'worker' ? role.sink : decisionSink(config, new LossNotice(metrics.decisionLogDropped)));
  const health = new HealthState();
  // Before anything that keeps the process alive: a bad key file stops the start.
  const assertions = await startAssertions(config.response.assertion, {
    log: (level, message, meta) => opsLog.log(level, message, meta),
    generatedKeyPem: role.kind === 'worker' ? process.env[generatedKeyEnv] : undefined,
  });
  delete process.env[generatedKeyEnv];
  // Loaded only when enabled: client-node takes about half a second to import.
  const kube: KubernetesRuntime | undefined = config.kubernetes.enabled
    ? await (await import('./kubernetes/index.js')).startKubernetes(config.kubernetes, {
        trustDomains: config.identity.trustDomains,
        audiences: [...new Set(config.identity.jwt.filter((issuer) => issuer.kind === 'kubernetes').flatMap((issuer) => issuer.audiences))],
        log: (msg, meta) => opsLog.info(msg, meta),
        metrics: { stale: (isStale) => metrics.kubernetesStale.set(isStale ? 1 : 0) },
      })
    : undefined;

  const store = new PolicyStore(config.policies);
  let authorizer: CedarAuthorizer | undefined;
  store.on('reloaded', (version) => {
    const engine = store.current();
    authorizer = engine ? new CedarAuthorizer(engine, { namespaceLabels: kube?.namespaceLabels.bind(kube) }) : undefined;
    metrics.policyReloads.inc({ result: 'success' });
    metrics.setPolicyVersion(version);
    opsLog.info('policy set loaded', { version, policies: engine?.policies.length, warnings: engine?.warnings.map(formatProblem) });
    health.set(!draining);
  });
  store.on('reloadFailed', (problems) => {
    metrics.policyReloads.inc({ result: 'failure' });
    // "Kept" is only true once a set has loaded; before that every Check is refused, and the
    // operator reading this line must not think otherwise.
    const message = authorizer ? 'policy set not loaded; the last good set stays in use' : 'policy set failed to load: no policy set is loaded; every Check is answered UNAVAILABLE';
    opsLog.error(message, { problems: problems.map(formatProblem), serving: authorizer?.version ?? null });
  });

  // With Kubernetes enabled, the cluster's issuer keys are read from the API server with the pod's credentials.
  const keySources = new Map(
    config.identity.jwt.map((issuer) => [
      issuer.issuer,
      kube && issuer.kind === 'kubernetes' && issuer.discovery ? new IssuerKeySource(issuer.issuer, kube.clusterKeys(issuer.issuer)) : keySourceFor(issuer),
    ]),
  );
  const localTokens = new TokenVerifier(config.identity.jwt, config.identity.trustDomains, config.limits, keySources);
  const clusterIssuers = new Set(config.identity.jwt.filter((issuer) => issuer.kind === 'kubernetes').map((issuer) => issuer.issuer));
  const tokens = kube?.tokenReview ? new TokenRouter(clusterIssuers, kube.tokenReview, localTokens) : localTokens;
  const resolver = resolverFromConfig(config, tokens);

  const handler = new CheckHandler({
    resolver,
    policies: { current: () => authorizer },
    lifecycle: () => kube?.lifecycle ?? noLifecycle,
    mode: { dryRun: config.mode === 'dry-run', dryRunNamespaces: new Set(config.dryRunNamespaces) },
    response: config.response,
    limits: config.limits,
    log,
    metrics,
    assertions: assertions?.minter,
  });

  let draining = false;
  const grpcServer = createGrpcServer(handler, health, { maxMessageBytes: config.limits.maxMessageBytes, reflection: config.grpcReflection });
  const readiness = (): ReadinessReport => {
    const problems = store.lastError();
    const cluster = kube?.readiness();
    return {
      // Stale watches are reported, not made unready: an unready gatehouse would fail every Check,
      // mTLS callers included, while the stale policy (failClosed) already refuses bound tokens.
      ready: !draining && authorizer !== undefined,
      detail: {
        draining,
        kubernetes: cluster?.detail ?? null,
        policyVersion: authorizer?.version ?? null,
        reloadErrors: problems?.map(formatProblem) ?? [],
      },
    };
  };
  // A worker reports readiness to its primary, which serves HTTP for all of them.
  const httpServer = role.kind === 'single' ? createHttpServer({ metrics: metrics.registry, readiness, routes: assertions?.routes }) : undefined;
  const report = role.kind === 'worker' ? () => role.onReadiness(readiness()) : () => undefined;
  store.on('reloaded', report);
  store.on('reloadFailed', report);
  const reportTimer = setInterval(report, 1000);
  reportTimer.unref();

  for (const source of keySources.values()) source.start();
  await store.start();
  const grpcPort = await bindGrpc(grpcServer, config.listen);
  // A bound gRPC port would keep alive a process that failed to start and cannot report health.
  const httpPort = httpServer
    ? await listenHttp(httpServer, config.httpListen).catch((err: unknown) => Promise.reject((grpcServer.forceShutdown(), err)))
    : 0;
  if (role.kind === 'single') {
    opsLog.info('gatehouse serving', { grpc: `${hostOf(config.listen)}:${grpcPort}`, http: `${hostOf(config.httpListen)}:${httpPort}`, policyVersion: authorizer?.version ?? null });
  }
  report();

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let shutting: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    shutting ??= (async () => {
      opsLog.info('shutting down', { reason, inFlight: handler.pending });
      draining = true;
      health.set(false);
      report();
      clearInterval(reportTimer);
      store.stop();
      for (const source of keySources.values()) source.close();
      assertions?.close();
      kube?.stop();
      // An open Watch stream keeps its session open, so tryShutdown would wait out the grace period.
      health.endWatches();
      await drainGrpc(grpcServer, config.shutdownGraceSeconds * 1000);
      if (httpServer) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await log.close();
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
  return { grpcPort, httpPort, stopped, shutdown };
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

/** Decision lines of a standalone server or a primary; losses go to `losses` (counted and said). */
export function decisionSink(config: Config, losses: LossNotice): LineSink | undefined {
  const sink = winstonSink(config.decisionLog, (loss, destination) => losses.report(loss.lost, destination, loss.reason));
  return (
    sink && {
      write: (lines) => sink.write(lines),
      async close() {
        await sink.close();
        losses.close();
      },
    }
  );
}

export function listenHttp(server: HttpServer, hostPort: string): Promise<number> {
  const host = hostOf(hostPort);
  const port = Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(listenFailure(hostPort, '--http-listen / httpListen', err)));
    server.listen(port, host.replace(/^\[|\]$/g, ''), () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

export function hostOf(hostPort: string): string {
  return hostPort.slice(0, hostPort.lastIndexOf(':'));
}
