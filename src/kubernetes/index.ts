import { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../config.js';
import type { Lifecycle } from '../core/decide.js';
import { ErrorCode, GatehouseError } from '../errors.js';
import type { JwksOrigin } from '../identity/jwks-origin.js';
import type { TokenVerification } from '../identity/resolve.js';
import { clusterKeysOrigin } from './cluster-keys.js';
import { ClusterView } from './cluster-view.js';
import { describe } from './describe-error.js';
import { ClusterInformers, type InformerTuning } from './informers.js';
import { KubeApi } from './kube-api.js';
import { KubernetesLifecycle } from './lifecycle.js';
import { freshness, type Freshness } from './sync-health.js';
import { TokenReviewVerifier } from './token-review.js';

export interface KubernetesRuntime {
  readonly lifecycle: Lifecycle;
  /** For the Cedar entity builder (`EntityOptions.namespaceLabels`). */
  namespaceLabels(namespace: string): ReadonlyMap<string, string> | undefined;
  /** Present when `kubernetes.tokenReview` is on. */
  readonly tokenReview?: TokenVerification;
  /** The cluster's service-account keys, fetched from the API server with its credentials. */
  clusterKeys(expectedIssuer?: string): JwksOrigin;
  readiness(): { stale: boolean; detail: Record<string, unknown> };
  stop(): void;
}

export interface KubernetesDeps {
  /** The first is the cluster's trust domain: service accounts are `spiffe://FIRST/ns/NS/sa/SA`. */
  readonly trustDomains: readonly string[];
  /** Audiences a TokenReview must confirm. */
  readonly audiences: readonly string[];
  readonly log: (msg: string, meta?: object) => void;
  readonly metrics?: { stale: (isStale: boolean) => void };
  /** Shorter timings for tests. */
  readonly tuning?: Partial<InformerTuning> & { readonly staleCheckIntervalMs?: number };
}

/**
 * Starts watching the cluster and returns at once: until every watch has synced, liveness is
 * unknown and `failClosed` decides. Throws only for configuration that cannot work (no
 * kubeconfig, no trust domain, token review without an audience).
 */
export async function startKubernetes(config: Config['kubernetes'], deps: KubernetesDeps): Promise<KubernetesRuntime> {
  const trustDomain = deps.trustDomains[0];
  if (trustDomain === undefined) throw new GatehouseError(ErrorCode.config, 'kubernetes: identity.trustDomains is empty');
  const kc = loadKubeConfig(config.kubeconfig);
  const api = new KubeApi(kc);
  const view = new ClusterView();
  const informers = new ClusterInformers({ kc, api, view, log: deps.log, tuning: deps.tuning });
  const staleAfterMs = config.staleAfterSeconds * 1000;
  const freshAt = (nowMs: number): Freshness => freshness(informers.health.values(), nowMs, staleAfterMs);
  const lifecycle = new KubernetesLifecycle(view, freshAt, { failClosed: config.failClosed, staleAfterSeconds: config.staleAfterSeconds, trustDomain });
  const tokenReview = config.tokenReview ? new TokenReviewVerifier(api, { audiences: deps.audiences, trustDomain }) : undefined;

  const readiness = (): { stale: boolean; detail: Record<string, unknown> } => {
    const now = Date.now();
    const state = freshAt(now).state;
    const resources = Object.fromEntries([...informers.health].map(([resource, health]) => [resource, health.snapshot(now)]));
    return {
      stale: state !== 'fresh',
      detail: { state, server: api.server, staleAfterSeconds: config.staleAfterSeconds, failClosed: config.failClosed, resources, objects: view.counts() },
    };
  };

  let reported: boolean | undefined;
  const reportStaleness = (): void => {
    const { stale, detail } = readiness();
    if (stale === reported) return;
    reported = stale;
    deps.metrics?.stale(stale);
    deps.log(stale ? 'kubernetes view is not in sync' : 'kubernetes view is in sync', { state: detail['state'] });
  };
  const interval = deps.tuning?.staleCheckIntervalMs ?? Math.min(1000, staleAfterMs / 4);
  const timer = setInterval(reportStaleness, interval).unref();
  informers.start();
  reportStaleness();

  return {
    lifecycle,
    namespaceLabels: (namespace) => view.namespaceLabels(namespace),
    tokenReview,
    clusterKeys: (expectedIssuer) => clusterKeysOrigin(api, { expectedIssuer }),
    readiness,
    stop() {
      clearInterval(timer);
      informers.stop();
    },
  };
}

/** The kubeconfig file when one is named, else the pod's in-cluster service account. */
function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  const source = path === '' ? 'the in-cluster configuration' : `kubeconfig ${path}`;
  try {
    if (path !== '') {
      kc.loadFromFile(path);
    } else if (process.env['KUBERNETES_SERVICE_HOST'] === undefined) {
      throw new Error('KUBERNETES_SERVICE_HOST is unset (not running in a pod); set kubernetes.kubeconfig');
    } else {
      kc.loadFromCluster();
    }
  } catch (err) {
    throw new GatehouseError(ErrorCode.config, `kubernetes: cannot load ${source}: ${describe(err)}`);
  }
  return kc;
}
