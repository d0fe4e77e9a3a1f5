import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { KubernetesRuntime } from '../kubernetes/index.js';
import { opsLog } from '../log/ops-log.js';
import { CedarAuthorizer } from '../policy/authorizer.js';
import { formatProblem } from '../policy/problem.js';
import { PolicyStore } from '../policy/store.js';
import type { Metrics } from '../transport/metrics.js';
import { readContainerLimits } from './container-limits.js';

/**
 * The policy set a server answers with: the store's current engine as an authorizer (rebuilt,
 * with a fresh decision cache, on every reload), its reloads logged and counted.
 *
 * A large set is parsed and validated in threads, each with its own cedar-wasm. A worker of
 * several takes one: the workers already share the cores, all load at once at the start, and
 * more threads each would multiply the memory of the load, not its speed. A lone server takes
 * one per core it may use, at most four.
 */
export class ServingPolicies {
  readonly store: PolicyStore;
  #authorizer: CedarAuthorizer | undefined;

  constructor(policies: string, kube: KubernetesRuntime | undefined, metrics: Metrics) {
    this.store = new PolicyStore(policies, { loadThreads: cluster.isWorker ? 1 : Math.min(usableCores(), 4) });
    this.store.on('reloaded', (version) => {
      const engine = this.store.current();
      this.#authorizer = engine ? new CedarAuthorizer(engine, { namespaceLabels: kube?.namespaceLabels.bind(kube) }) : undefined;
      metrics.policyReloads.inc({ result: 'success' });
      metrics.setPolicyVersion(version);
      opsLog.info('policy set loaded', { version, policies: engine?.policies.length, warnings: engine?.warnings.map(formatProblem) });
    });
    this.store.on('reloadFailed', (problems) => {
      metrics.policyReloads.inc({ result: 'failure' });
      // "Kept" is only true once a set has loaded; before that every Check is refused, and the
      // operator reading this line must not think otherwise.
      const message = this.#authorizer
        ? 'policy set not loaded; the last good set stays in use'
        : 'policy set failed to load: no policy set is loaded; every Check is answered UNAVAILABLE';
      opsLog.error(message, { problems: problems.map(formatProblem), serving: this.version });
    });
  }

  /** The authorizer Checks use now; undefined until a set has loaded. */
  current(): CedarAuthorizer | undefined {
    return this.#authorizer;
  }

  get version(): string | null {
    return this.#authorizer?.version ?? null;
  }

  reloadErrors(): string[] {
    return this.store.lastError()?.map(formatProblem) ?? [];
  }
}

/** The cores this process may keep busy: its CPU affinity, within the container's CPU limit. */
function usableCores(): number {
  const limit = readContainerLimits().cpus;
  return Math.max(1, Math.min(availableParallelism(), limit === undefined ? Infinity : Math.ceil(limit)));
}
