import { ListWatch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { Backoff, jitter } from './backoff.js';
import type { ClusterView, ObjectMeta } from './cluster-view.js';
import { describe } from './describe-error.js';
import type { KubeApi } from './kube-api.js';
import { listAll, slim, watchedResources, type Slim, type WatchedResource } from './object-metadata.js';
import { ObservedWatch } from './observed-watch.js';
import { SyncHealth } from './sync-health.js';

export interface InformerTuning {
  /** First restart delay after a failed list or watch; doubles up to `restartMaxMs`, jittered. */
  readonly restartInitialMs: number;
  readonly restartMaxMs: number;
  /** Objects per list page. */
  readonly listPageSize: number;
  /** How long one list (all its pages) may take. */
  readonly listTimeoutMs: number;
}

const defaultInformerTuning: InformerTuning = {
  restartInitialMs: 250,
  restartMaxMs: 30_000,
  listPageSize: 500,
  listTimeoutMs: 60_000,
};

export interface InformerSetOptions {
  readonly kc: KubeConfig;
  readonly api: KubeApi;
  readonly view: ClusterView;
  readonly log: (msg: string, meta?: object) => void;
  readonly tuning?: Partial<InformerTuning>;
  readonly clock?: () => number;
}

const stableWatchMs = 10_000;

/** Informers for pods, service accounts and namespaces across all namespaces, feeding one view. */
export class ClusterInformers {
  readonly #informers: ResourceInformer[];
  /** Each resource's sync health, read on every Check. */
  readonly health: ReadonlyMap<WatchedResource, SyncHealth>;

  constructor(options: InformerSetOptions) {
    const tuning = { ...defaultInformerTuning, ...options.tuning };
    const clock = options.clock ?? Date.now;
    this.#informers = watchedResources.map((resource) => new ResourceInformer(resource, options, tuning, clock));
    this.health = new Map(this.#informers.map((informer) => [informer.resource, informer.health]));
  }

  /** Starts every informer without waiting: the view fills as lists succeed. */
  start(): void {
    for (const informer of this.#informers) informer.start();
  }

  stop(): void {
    for (const informer of this.#informers) informer.stop();
  }
}

/**
 * One resource's informer, restarted with backoff whenever it gives up. client-node's ListWatch
 * resumes by itself after a normal watch close, a client-side timeout or a 410 Gone (it relists);
 * after any other error it emits `error` and stays stopped.
 */
class ResourceInformer {
  readonly health: SyncHealth;
  readonly #informer: ListWatch<Slim>;
  readonly #backoff: Backoff;
  readonly #abort = new AbortController();
  readonly #log: InformerSetOptions['log'];
  #restartTimer: NodeJS.Timeout | undefined;
  #watchOpenedAt: number | undefined;

  constructor(
    readonly resource: WatchedResource,
    options: InformerSetOptions,
    tuning: InformerTuning,
    private readonly clock: () => number,
  ) {
    this.health = new SyncHealth(clock());
    this.#log = options.log;
    this.#backoff = new Backoff(tuning.restartInitialMs, tuning.restartMaxMs);
    const path = `/api/v1/${resource}`;
    const watch = new ObservedWatch(options.kc, resource, {
      stopped: () => this.#abort.signal.aborted,
      opened: () => {
        this.#watchOpenedAt = clock();
        this.health.watchOpened(clock());
      },
      closed: (err) => {
        // A watch that held for a while counts as a recovery even on a quiet resource with no events.
        if (this.#watchOpenedAt !== undefined && clock() - this.#watchOpenedAt >= stableWatchMs) this.#backoff.reset();
        this.#watchOpenedAt = undefined;
        this.health.watchClosed(clock(), isRoutineEnd(err) ? undefined : describe(err));
      },
      event: () => {
        this.health.eventReceived();
        this.#backoff.reset();
      },
    });
    const list = (): Promise<KubernetesListObject<Slim>> => this.#list(options.api, path, tuning);
    this.#informer = new ListWatch(path, watch, list, false, undefined, undefined, {
      delayFn: (ms) => sleep(jitter(ms), this.#abort.signal),
    });
    const apply = applierFor(options.view, resource);
    this.#informer.on('add', guarded(apply.put, options.log, resource));
    this.#informer.on('update', guarded(apply.put, options.log, resource));
    this.#informer.on('delete', guarded(apply.remove, options.log, resource));
    this.#informer.on('error', (err: unknown) => this.#restartLater(err));
  }

  start(): void {
    this.#informer.start().catch((err: unknown) => this.#restartLater(err));
  }

  stop(): void {
    this.#abort.abort();
    clearTimeout(this.#restartTimer);
    void this.#informer.stop();
  }

  #restartLater(err: unknown): void {
    if (this.#abort.signal.aborted || this.#restartTimer !== undefined) return;
    const delayMs = this.#backoff.next();
    this.#log('kubernetes watch failed; restarting', { resource: this.resource, error: describe(err), retryInMs: delayMs });
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.start();
    }, delayMs);
  }

  async #list(api: KubeApi, path: string, tuning: InformerTuning): Promise<KubernetesListObject<Slim>> {
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(tuning.listTimeoutMs)]);
    try {
      const list = await listAll(api, path, this.resource, tuning.listPageSize, signal);
      this.health.listSucceeded(this.clock());
      return list;
    } catch (err) {
      this.health.listFailed(this.clock(), describe(err));
      throw err;
    }
  }
}

function applierFor(view: ClusterView, resource: WatchedResource): { put(meta: ObjectMeta): void; remove(meta: ObjectMeta): void } {
  switch (resource) {
    case 'pods':
      return { put: (meta) => view.putPod(meta), remove: (meta) => view.removePod(meta) };
    case 'serviceaccounts':
      return { put: (meta) => view.putServiceAccount(meta), remove: (meta) => view.removeServiceAccount(meta) };
    case 'namespaces':
      return { put: (meta) => view.putNamespace(meta), remove: (meta) => view.removeNamespace(meta) };
    default: {
      const never: never = resource;
      return never;
    }
  }
}

/** Informer callbacks run inside ListWatch, where a throw would end the watch or go unhandled. */
function guarded(apply: (meta: ObjectMeta) => void, log: InformerSetOptions['log'], resource: WatchedResource): (obj: KubernetesObject) => void {
  return (obj) => {
    const trimmed = slim(resource, obj);
    if (!trimmed) return;
    try {
      apply(trimmed.metadata as ObjectMeta);
    } catch (err) {
      log('kubernetes object not applied to the view', { resource, error: describe(err) });
    }
  };
}

/** A close by the server, or client-node's inactivity timeout on a quiet watch: both resume at once. */
function isRoutineEnd(err: unknown): boolean {
  return err === null || err === undefined || (typeof err === 'object' && 'name' in err && err.name === 'TimeoutError');
}

/** Resolves after `ms`, or at once when `signal` aborts; never rejects, holds no process open. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms).unref();
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
