import { LRUCache } from 'lru-cache';
import type { WorkloadClass } from '../core/identity.js';

/** The service-account annotation that gives a workload its class (contract). */
export const classAnnotation = 'gatehouse.io/class';

const annotatedClasses: ReadonlySet<string> = new Set<WorkloadClass>(['service', 'build', 'automation', 'agent']);

/** The part of an object's metadata the view keeps; everything else is dropped on arrival. */
export interface ObjectMeta {
  readonly namespace?: string;
  readonly name: string;
  readonly uid: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ServiceAccountFacts {
  readonly uid: string;
  /** From the `gatehouse.io/class` annotation; undefined when absent or not a known class. */
  readonly class: WorkloadClass | undefined;
}

export interface ClusterViewOptions {
  /** Deleted uids remembered, so that a revocation still holds while the watches are down. */
  readonly tombstones?: number;
}

/**
 * What gatehouse knows of the cluster: live pods, service accounts, namespace labels. Watch
 * events write it; Checks read it synchronously, so a change is in effect as soon as its event
 * has been applied. Writers never throw: a malformed object is the informer's to filter.
 */
export class ClusterView {
  readonly #podUids = new Map<string, string>();
  readonly #livePods = new Set<string>();
  readonly #serviceAccounts = new Map<string, ServiceAccountFacts>();
  readonly #namespaceLabels = new Map<string, ReadonlyMap<string, string>>();
  readonly #deleted: LRUCache<string, true>;
  /** `NS/NAME` of service accounts seen deleted and not back since: what an actor, which names no uid, can be judged by. */
  readonly #deletedAccounts: LRUCache<string, true>;

  constructor(options: ClusterViewOptions = {}) {
    this.#deleted = new LRUCache({ max: options.tombstones ?? 50_000 });
    this.#deletedAccounts = new LRUCache({ max: options.tombstones ?? 50_000 });
  }

  putPod(meta: ObjectMeta): void {
    const key = keyOf(meta);
    const previous = this.#podUids.get(key);
    if (previous !== undefined && previous !== meta.uid) this.#bury(previous);
    this.#podUids.set(key, meta.uid);
    this.#livePods.add(meta.uid);
    this.#deleted.delete(meta.uid);
  }

  removePod(meta: ObjectMeta): void {
    const key = keyOf(meta);
    const current = this.#podUids.get(key);
    // A delete naming an older uid than the one held must not remove its successor.
    if (current !== undefined && current !== meta.uid) return;
    this.#podUids.delete(key);
    this.#bury(meta.uid);
  }

  putServiceAccount(meta: ObjectMeta): void {
    const key = keyOf(meta);
    const previous = this.#serviceAccounts.get(key);
    if (previous !== undefined && previous.uid !== meta.uid) this.#deleted.set(previous.uid, true);
    this.#serviceAccounts.set(key, Object.freeze({ uid: meta.uid, class: classOf(meta.annotations?.[classAnnotation]) }));
    this.#deleted.delete(meta.uid);
    this.#deletedAccounts.delete(key);
  }

  removeServiceAccount(meta: ObjectMeta): void {
    const key = keyOf(meta);
    const current = this.#serviceAccounts.get(key);
    if (current !== undefined && current.uid !== meta.uid) return;
    this.#serviceAccounts.delete(key);
    this.#deleted.set(meta.uid, true);
    this.#deletedAccounts.set(key, true);
  }

  putNamespace(meta: ObjectMeta): void {
    this.#namespaceLabels.set(meta.name, new Map(Object.entries(meta.labels ?? {})));
  }

  removeNamespace(meta: ObjectMeta): void {
    this.#namespaceLabels.delete(meta.name);
  }

  isLivePod(uid: string): boolean {
    return this.#livePods.has(uid);
  }

  /** The uid of the pod now holding this name, if any. */
  podUid(namespace: string, name: string): string | undefined {
    return this.#podUids.get(`${namespace}/${name}`);
  }

  serviceAccount(namespace: string, name: string): ServiceAccountFacts | undefined {
    return this.#serviceAccounts.get(`${namespace}/${name}`);
  }

  /** True when the service account of this name was seen deleted and has not been created again. */
  wasServiceAccountDeleted(namespace: string, name: string): boolean {
    return this.#deletedAccounts.has(`${namespace}/${name}`);
  }

  /** True when a pod or service account with this uid was seen deleted (or replaced). */
  wasDeleted(uid: string): boolean {
    return this.#deleted.has(uid);
  }

  namespaceLabels(namespace: string): ReadonlyMap<string, string> | undefined {
    return this.#namespaceLabels.get(namespace);
  }

  counts(): { pods: number; serviceAccounts: number; namespaces: number } {
    return { pods: this.#livePods.size, serviceAccounts: this.#serviceAccounts.size, namespaces: this.#namespaceLabels.size };
  }

  #bury(uid: string): void {
    this.#livePods.delete(uid);
    this.#deleted.set(uid, true);
  }
}

function keyOf(meta: ObjectMeta): string {
  return `${meta.namespace ?? ''}/${meta.name}`;
}

function classOf(annotation: string | undefined): WorkloadClass | undefined {
  return annotation !== undefined && annotatedClasses.has(annotation) ? (annotation as WorkloadClass) : undefined;
}
