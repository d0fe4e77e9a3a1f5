import type { Server as HttpServer } from 'node:http';
import { parseArgs } from 'node:util';
import type * as grpc from '@grpc/grpc-js';
import { loadConfig, type Config } from '../config.js';
import { noLifecycle } from '../core/decide.js';
import { classifierFromRules } from '../identity/classify.js';
import { TokenVerifier } from '../identity/jwt.js';
import { IssuerKeySource, keySourceFor } from '../identity/key-source.js';
import { IdentityResolver } from '../identity/resolve.js';
import { loadTrustBundles } from '../identity/trust-bundle.js';
import type { KubernetesRuntime } from '../kubernetes/index.js';
import { DecisionLog } from '../log/decision-log.js';
import { opsLog } from '../log/ops-log.js';
import { CedarAuthorizer } from '../policy/authorizer.js';
import { formatProblem } from '../policy/problem.js';
import { PolicyStore } from '../policy/store.js';
import { CheckHandler } from '../transport/check-handler.js';
import { bindGrpc, createGrpcServer, HealthState } from '../transport/grpc-server.js';
import { createHttpServer } from '../transport/http-server.js';
import { Metrics } from '../transport/metrics.js';
import { usage, type CommandResult } from './command.js';

const help = `gatehouse serve [--config FILE] [--policies DIR] [--listen HOST:PORT] [--http-listen HOST:PORT]
  runs the Envoy ext_authz v3 gRPC server (default 0.0.0.0:9191) and the health, readiness
  and metrics HTTP server (default 0.0.0.0:9192); flags override the config file`;

export async function serve(argv: string[]): Promise<CommandResult> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      policies: { type: 'string' },
      listen: { type: 'string' },
      'http-listen': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return usage(help, 0);
  const config = loadConfig(values.config, { policies: values.policies, listen: values.listen, httpListen: values['http-listen'] });
  const server = await startServer(config);
  await server.stopped;
  return { code: 0 };
}

export interface RunningServer {
  readonly grpcPort: number;
  readonly httpPort: number;
  /** Resolves once a shutdown has finished. */
  readonly stopped: Promise<void>;
  shutdown(reason: string): Promise<void>;
}

/** The composition root: config → policy store → key sources → handler → servers → signals. */
export async function startServer(config: Config): Promise<RunningServer> {
  const metrics = new Metrics();
  const log = new DecisionLog(config.decisionLog);
  const health = new HealthState();
  // Loaded only when enabled: client-node takes about half a second to import.
  const kube: KubernetesRuntime | undefined = config.kubernetes.enabled
    ? await (await import('../kubernetes/index.js')).startKubernetes(config.kubernetes, {
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
    opsLog.error('policy set not loaded; the last good set stays in use', { problems: problems.map(formatProblem), serving: authorizer?.version ?? null });
  });

  // With Kubernetes enabled, the cluster's issuer keys are read from the API server with the pod's credentials.
  const keySources = new Map(
    config.identity.jwt.map((issuer) => [
      issuer.issuer,
      kube && issuer.kind === 'kubernetes' && issuer.discovery ? new IssuerKeySource(issuer.issuer, kube.clusterKeys(issuer.issuer)) : keySourceFor(issuer),
    ]),
  );
  const resolver = new IdentityResolver({
    mtls: {
      trustDomains: new Set(config.identity.trustDomains),
      bundles: loadTrustBundles(config.identity.trustBundles),
      classify: classifierFromRules(config.identity.classes),
    },
    trustForwardedClientCert: config.identity.trustForwardedClientCert,
    tokens: kube?.tokenReview ?? new TokenVerifier(config.identity.jwt, config.identity.trustDomains, config.limits, keySources),
  });

  const handler = new CheckHandler({
    resolver,
    policies: { current: () => authorizer },
    lifecycle: () => kube?.lifecycle ?? noLifecycle,
    mode: { dryRun: config.mode === 'dry-run', dryRunNamespaces: new Set(config.dryRunNamespaces) },
    response: config.response,
    limits: config.limits,
    log,
    metrics,
  });

  let draining = false;
  const grpcServer = createGrpcServer(handler, health, { maxMessageBytes: config.limits.maxMessageBytes, reflection: config.grpcReflection });
  const httpServer = createHttpServer({
    metrics,
    readiness: () => {
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
    },
  });

  for (const source of keySources.values()) source.start();
  await store.start();
  const grpcPort = await bindGrpc(grpcServer, config.listen);
  const httpPort = await listenHttp(httpServer, config.httpListen);
  opsLog.info('gatehouse serving', { grpc: `${hostOf(config.listen)}:${grpcPort}`, http: `${hostOf(config.httpListen)}:${httpPort}`, policyVersion: authorizer?.version ?? null });

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let shutting: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    shutting ??= (async () => {
      opsLog.info('shutting down', { reason, inFlight: handler.pending });
      draining = true;
      health.set(false);
      store.stop();
      for (const source of keySources.values()) source.close();
      kube?.stop();
      // An open Watch stream keeps its session open, so tryShutdown would wait out the grace period.
      health.endWatches();
      await drainGrpc(grpcServer, config.shutdownGraceSeconds * 1000);
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await log.close();
      opsLog.info('stopped');
      resolveStopped();
    })();
    return shutting;
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
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

function listenHttp(server: HttpServer, hostPort: string): Promise<number> {
  const host = hostOf(hostPort);
  const port = Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host.replace(/^\[|\]$/g, ''), () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

function hostOf(hostPort: string): string {
  return hostPort.slice(0, hostPort.lastIndexOf(':'));
}
