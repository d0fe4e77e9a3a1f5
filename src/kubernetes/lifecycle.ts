import type { Lifecycle, LifecycleVerdict } from '../core/decide.js';
import type { BoundTokenClaims, Identity, WorkloadClass, WorkloadIdentity } from '../core/identity.js';
import { OncePerPair } from '../core/once-per-pair.js';
import { ErrorCode } from '../errors.js';
import type { ClusterView } from './cluster-view.js';
import type { Freshness } from './sync-health.js';

export interface KubernetesLifecycleOptions {
  /** While the view is stale or not yet synced: refuse bound tokens (true) or let them pass (false). */
  readonly failClosed: boolean;
  readonly staleAfterSeconds: number;
  /** The cluster's trust domain: only its `/ns/NS/sa/SA` workloads take a class from annotations. */
  readonly trustDomain: string;
}

/**
 * What the view says of one bound token: every object it names is live; one is known to be gone
 * (`deleted`: seen deleted or replaced, so true however stale the view); or one is merely not in
 * the view (`absent`: gone if the view is fresh, unknown if not).
 */
type Evidence = { readonly kind: 'live' } | { readonly kind: 'deleted' | 'absent'; readonly reason: string };

/**
 * Cancels bound service-account tokens whose pod or service account no longer exists, and gives
 * workloads the class their service account's `gatehouse.io/class` annotation names. Reads only
 * the in-memory view, so a Check never waits on the API server.
 */
export class KubernetesLifecycle implements Lifecycle {
  /** Each identity's copy with its annotated class, once per (identity, class) pair. */
  readonly #reclassified = new OncePerPair<WorkloadIdentity, WorkloadClass, WorkloadIdentity>();

  constructor(
    private readonly view: ClusterView,
    private readonly freshness: (nowMs: number) => Freshness,
    private readonly options: KubernetesLifecycleOptions,
  ) {}

  check(identity: Identity, nowMs: number): LifecycleVerdict {
    if (identity.kind !== 'workload') return { ok: true, identity };
    if (identity.kubernetes) {
      const refusal = this.#liveness(identity.kubernetes, nowMs);
      if (refusal) return refusal;
    }
    return { ok: true, identity: this.#classified(identity) };
  }

  /**
   * An actor (an mTLS peer or an `act.sub`) carries no pod or service-account uid, so the
   * evidence is its service account by name: one of the cluster's workloads whose service
   * account is gone presents nobody's authority, on the same fresh, stale and failClosed terms
   * as a bound token. A pod deletion cannot be told: a certificate names no pod (its short
   * lifetime covers that). Actors of other trust domains are not the view's to judge.
   */
  checkActor(actor: WorkloadIdentity, nowMs: number): LifecycleVerdict {
    const parts = actor.spiffeId.trustDomain === this.options.trustDomain ? actor.spiffeId.kubernetesParts() : undefined;
    if (parts !== undefined) {
      const refusal = this.#verdict(this.#accountEvidence(parts.namespace, parts.serviceAccount), nowMs);
      if (refusal) return refusal;
    }
    return { ok: true, identity: this.#classified(actor) };
  }

  #liveness(claims: BoundTokenClaims, nowMs: number): Extract<LifecycleVerdict, { ok: false }> | undefined {
    return this.#verdict(() => this.#evidence(claims), nowMs);
  }

  /** The evidence is read only once the view has synced: before that, nothing in it means anything. */
  #verdict(evidenceOf: () => Evidence, nowMs: number): Extract<LifecycleVerdict, { ok: false }> | undefined {
    const fresh = this.freshness(nowMs);
    if (fresh.state === 'unsynced') {
      return this.options.failClosed ? unknown('the cluster watches have not synced yet') : undefined;
    }
    const evidence = evidenceOf();
    if (evidence.kind === 'deleted') return revoked(evidence.reason);
    if (fresh.state === 'fresh') return evidence.kind === 'live' ? undefined : revoked(evidence.reason);
    if (!this.options.failClosed) return undefined;
    const seconds = (fresh.forMs / 1000).toFixed(1);
    return unknown(`the cluster watches have been out of sync for ${seconds}s (staleAfterSeconds ${this.options.staleAfterSeconds})`);
  }

  #accountEvidence(namespace: string, name: string): () => Evidence {
    return () => {
      if (this.view.serviceAccount(namespace, name) !== undefined) return { kind: 'live' };
      const reason = `service account ${namespace}/${name} does not exist in the cluster`;
      return { kind: this.view.wasServiceAccountDeleted(namespace, name) ? 'deleted' : 'absent', reason };
    };
  }

  /** The strongest evidence against the token: a known deletion outweighs an absence. */
  #evidence(claims: BoundTokenClaims): Evidence {
    const found = [this.#podEvidence(claims), this.#serviceAccountEvidence(claims)];
    return found.find((e) => e.kind === 'deleted') ?? found.find((e) => e.kind === 'absent') ?? { kind: 'live' };
  }

  #podEvidence({ namespace, podName, podUid }: BoundTokenClaims): Evidence {
    if (podUid === undefined || this.view.isLivePod(podUid)) return { kind: 'live' };
    const holder = podName === undefined ? undefined : this.view.podUid(namespace, podName);
    const replaced = holder !== undefined && holder !== podUid;
    const pod = podName === undefined ? `pod uid ${podUid}` : `pod ${namespace}/${podName} uid ${podUid}`;
    return { kind: replaced || this.view.wasDeleted(podUid) ? 'deleted' : 'absent', reason: `${pod} no longer exists` };
  }

  #serviceAccountEvidence({ namespace, serviceAccountName, serviceAccountUid }: BoundTokenClaims): Evidence {
    const account = this.view.serviceAccount(namespace, serviceAccountName);
    if (account?.uid === serviceAccountUid) return { kind: 'live' };
    const name = `service account ${namespace}/${serviceAccountName} uid ${serviceAccountUid}`;
    if (account) return { kind: 'deleted', reason: `${name} no longer exists (the name now has uid ${account.uid})` };
    return { kind: this.view.wasDeleted(serviceAccountUid) ? 'deleted' : 'absent', reason: `${name} no longer exists` };
  }

  /** The annotation overrides the config rules; without one the identity keeps its class. */
  #classified(identity: Extract<Identity, { kind: 'workload' }>): Identity {
    if (identity.spiffeId.trustDomain !== this.options.trustDomain) return identity;
    const parts = identity.spiffeId.kubernetesParts();
    const annotated = parts && this.view.serviceAccount(parts.namespace, parts.serviceAccount)?.class;
    if (annotated === undefined || annotated === identity.class) return identity;
    return this.#reclassified.of(identity, annotated, () => Object.freeze({ ...identity, class: annotated }));
  }
}

function revoked(reason: string): Extract<LifecycleVerdict, { ok: false }> {
  return { ok: false, code: ErrorCode.credentialRevoked, reason };
}

function unknown(reason: string): Extract<LifecycleVerdict, { ok: false }> {
  return { ok: false, code: ErrorCode.livenessUnknown, reason };
}
