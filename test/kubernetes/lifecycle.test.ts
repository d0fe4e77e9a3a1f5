import type { Identity } from '../../src/core/identity.js';
import { ClusterView } from '../../src/kubernetes/cluster-view.js';
import { KubernetesLifecycle } from '../../src/kubernetes/lifecycle.js';
import type { Freshness } from '../../src/kubernetes/sync-health.js';
import { boundToken, mtlsWorkload } from './support.js';

/** A view holding shop/frontend (sa-1, class service) and its pod frontend-1 (pod-1). */
function seeded(): ClusterView {
  const view = new ClusterView();
  view.putServiceAccount({ namespace: 'shop', name: 'frontend', uid: 'sa-1', annotations: { 'gatehouse.io/class': 'service' } });
  view.putPod({ namespace: 'shop', name: 'frontend-1', uid: 'pod-1' });
  return view;
}

const fresh: Freshness = { state: 'fresh' };
const stale: Freshness = { state: 'stale', forMs: 4_200 };
const unsynced: Freshness = { state: 'unsynced' };

const live = boundToken({ serviceAccountUid: 'sa-1', podName: 'frontend-1', podUid: 'pod-1' });
const unseenPod = boundToken({ serviceAccountUid: 'sa-1', podName: 'frontend-9', podUid: 'pod-9' });
const noPod = boundToken({ serviceAccountUid: 'sa-1' });
const peer = mtlsWorkload('spiffe://cluster.local/ns/shop/sa/frontend');

type Change = (view: ClusterView) => void;
const deletePod: Change = (view) => view.removePod({ namespace: 'shop', name: 'frontend-1', uid: 'pod-1' });
const replacePod: Change = (view) => view.putPod({ namespace: 'shop', name: 'frontend-1', uid: 'pod-1b' });
const deleteAccount: Change = (view) => view.removeServiceAccount({ namespace: 'shop', name: 'frontend', uid: 'sa-1' });
const recreateAccount: Change = (view) => {
  deleteAccount(view);
  view.putServiceAccount({ namespace: 'shop', name: 'frontend', uid: 'sa-2' });
};
const nothing: Change = () => undefined;

function check(identity: Identity, change: Change, freshness: Freshness, failClosed = true) {
  const view = seeded();
  change(view);
  const lifecycle = new KubernetesLifecycle(view, () => freshness, { failClosed, staleAfterSeconds: 3, trustDomain: 'cluster.local' });
  const result = lifecycle.check(identity, 0);
  return result.ok ? 'ok' : `${result.code}: ${result.reason}`;
}

describe('KubernetesLifecycle liveness', () => {
  test.each<[string, Identity, Change, Freshness, boolean, string]>([
    ['live pod and account', live, nothing, fresh, true, 'ok'],
    ['token bound to no pod, live account', noPod, nothing, fresh, true, 'ok'],
    ['pod deleted', live, deletePod, fresh, true, 'credential_revoked: pod shop/frontend-1 uid pod-1 no longer exists'],
    ['pod name taken by a new pod', live, replacePod, fresh, true, 'credential_revoked: pod shop/frontend-1 uid pod-1 no longer exists'],
    ['pod never seen, view fresh', unseenPod, nothing, fresh, true, 'credential_revoked: pod shop/frontend-9 uid pod-9 no longer exists'],
    ['account deleted', noPod, deleteAccount, fresh, true, 'credential_revoked: service account shop/frontend uid sa-1 no longer exists'],
    ['account recreated', noPod, recreateAccount, fresh, true, 'credential_revoked: service account shop/frontend uid sa-1 no longer exists (the name now has uid sa-2)'],
    ['a deleted account outweighs a merely unseen pod', unseenPod, deleteAccount, stale, false, 'credential_revoked: service account shop/frontend uid sa-1 no longer exists'],
    ['stale, failing closed', live, nothing, stale, true, 'liveness_unknown: the cluster watches have been out of sync for 4.2s (staleAfterSeconds 3)'],
    ['stale, failing open', live, nothing, stale, false, 'ok'],
    ['stale, failing open, pod never seen (may be newer than the view)', unseenPod, nothing, stale, false, 'ok'],
    ['stale, failing open, pod seen deleted', live, deletePod, stale, false, 'credential_revoked: pod shop/frontend-1 uid pod-1 no longer exists'],
    ['stale, failing closed, pod seen deleted', live, deletePod, stale, true, 'credential_revoked: pod shop/frontend-1 uid pod-1 no longer exists'],
    ['not yet synced, failing closed', live, nothing, unsynced, true, 'liveness_unknown: the cluster watches have not synced yet'],
    ['not yet synced, failing open', live, nothing, unsynced, false, 'ok'],
    ['mTLS peer while stale and failing closed', peer, nothing, stale, true, 'ok'],
    ['mTLS peer before any sync', peer, nothing, unsynced, true, 'ok'],
    ['anonymous', { kind: 'anonymous' }, nothing, unsynced, true, 'ok'],
  ])('%s', (_name, identity, change, freshness, failClosed, expected) => {
    expect(check(identity, change, freshness, failClosed)).toBe(expected);
  });
});

describe('KubernetesLifecycle actor liveness: by its service account, which it names without a uid', () => {
  const actor = mtlsWorkload('spiffe://cluster.local/ns/shop/sa/frontend');
  const deletePods: Change = (view) => view.removePod({ namespace: 'shop', name: 'frontend-1', uid: 'pod-1' });
  const recreate: Change = (view) => {
    deleteAccount(view);
    view.putServiceAccount({ namespace: 'shop', name: 'frontend', uid: 'sa-2' });
  };
  const checkActor = (identity: Identity, change: Change, freshness: Freshness, failClosed = true) => {
    const view = seeded();
    change(view);
    const lifecycle = new KubernetesLifecycle(view, () => freshness, { failClosed, staleAfterSeconds: 3, trustDomain: 'cluster.local' });
    const result = lifecycle.checkActor(identity as Extract<Identity, { kind: 'workload' }>, 0);
    return result.ok ? `ok ${result.identity.kind === 'workload' ? result.identity.class : ''}` : `${result.code}: ${result.reason}`;
  };

  test.each<[string, Identity, Change, Freshness, boolean, string]>([
    ['live account: the actor passes with the annotated class', actor, nothing, fresh, true, 'ok service'],
    ['account deleted', actor, deleteAccount, fresh, true, 'credential_revoked: service account shop/frontend does not exist in the cluster'],
    ['account never seen, view fresh', mtlsWorkload('spiffe://cluster.local/ns/ci/sa/builder'), nothing, fresh, true, 'credential_revoked: service account ci/builder does not exist in the cluster'],
    ['account recreated: the name exists again, and a certificate is bound to no uid', actor, recreate, fresh, true, 'ok unknown'],
    ['its pods deleted: a certificate names no pod', actor, deletePods, fresh, true, 'ok service'],
    ['stale, failing open, account seen deleted', actor, deleteAccount, stale, false, 'credential_revoked: service account shop/frontend does not exist in the cluster'],
    ['stale, failing open, account never seen (may be newer than the view)', mtlsWorkload('spiffe://cluster.local/ns/ci/sa/builder'), nothing, stale, false, 'ok unknown'],
    ['stale, failing closed, account never seen', mtlsWorkload('spiffe://cluster.local/ns/ci/sa/builder'), nothing, stale, true, 'liveness_unknown: the cluster watches have been out of sync for 4.2s (staleAfterSeconds 3)'],
    ['stale, failing closed, live account', actor, nothing, stale, true, 'liveness_unknown: the cluster watches have been out of sync for 4.2s (staleAfterSeconds 3)'],
    ['not yet synced, failing closed', actor, nothing, unsynced, true, 'liveness_unknown: the cluster watches have not synced yet'],
    ['not yet synced, failing open', actor, nothing, unsynced, false, 'ok service'],
    ['another trust domain is not the view\'s to judge', mtlsWorkload('spiffe://partner.example/ns/shop/sa/gone'), nothing, unsynced, true, 'ok unknown'],
    ['not the /ns/NS/sa/SA form', mtlsWorkload('spiffe://cluster.local/agents/assistant'), nothing, fresh, true, 'ok unknown'],
  ])('%s', (_name, identity, change, freshness, failClosed, expected) => {
    expect(checkActor(identity, change, freshness, failClosed)).toBe(expected);
  });
});

describe('KubernetesLifecycle class', () => {
  const lifecycle = (view: ClusterView) => new KubernetesLifecycle(view, () => fresh, { failClosed: true, staleAfterSeconds: 3, trustDomain: 'cluster.local' });
  const classOf = (view: ClusterView, identity: Identity) => {
    const result = lifecycle(view).check(identity, 0);
    return result.ok && result.identity.kind === 'workload' ? result.identity.class : result;
  };

  test.each<[string, string | undefined, Identity, string]>([
    ['annotation overrides the config rules', 'build', mtlsWorkload('spiffe://cluster.local/ns/shop/sa/frontend', 'service'), 'build'],
    ['no annotation keeps the configured class', undefined, mtlsWorkload('spiffe://cluster.local/ns/shop/sa/frontend', 'automation'), 'automation'],
    ['an unknown value is ignored', 'admin', mtlsWorkload('spiffe://cluster.local/ns/shop/sa/frontend', 'service'), 'service'],
    ['"unknown" cannot be annotated', 'unknown', mtlsWorkload('spiffe://cluster.local/ns/shop/sa/frontend', 'service'), 'service'],
    ['another trust domain', 'build', mtlsWorkload('spiffe://partner.example/ns/shop/sa/frontend'), 'unknown'],
    ['not the /ns/NS/sa/SA form', 'build', mtlsWorkload('spiffe://cluster.local/ns/shop/sa/frontend/extra'), 'unknown'],
    ['a bound token', 'automation', boundToken({ serviceAccountUid: 'sa-1' }), 'automation'],
  ])('%s', (_name, annotation, identity, expected) => {
    const view = new ClusterView();
    view.putServiceAccount({ namespace: 'shop', name: 'frontend', uid: 'sa-1', annotations: annotation === undefined ? {} : { 'gatehouse.io/class': annotation } });
    expect(classOf(view, identity)).toBe(expected);
  });

  test('the identity passed in is not modified', () => {
    const view = seeded();
    const identity = Object.freeze(mtlsWorkload('spiffe://cluster.local/ns/shop/sa/frontend'));
    const result = lifecycle(view).check(identity, 0);
    expect(result).toMatchObject({ ok: true, identity: { class: 'service' } });
    expect(identity.kind === 'workload' && identity.class).toBe('unknown');
  });

  test('a frozen identity is reclassified once per class: the same copy while the annotation stands, a new one when it changes', () => {
    const view = seeded();
    const checker = lifecycle(view);
    const identity = Object.freeze(mtlsWorkload('spiffe://cluster.local/ns/shop/sa/frontend'));
    const reclassified = (): Identity => {
      const result = checker.check(identity, 0);
      if (!result.ok) throw new Error(result.reason);
      return result.identity;
    };
    const first = reclassified();
    expect(first).toMatchObject({ class: 'service' });
    expect(Object.isFrozen(first)).toBe(true);
    expect(reclassified()).toBe(first);
    expect(checker.checkActor(identity as Extract<Identity, { kind: 'workload' }>, 0)).toEqual({ ok: true, identity: first });

    view.putServiceAccount({ namespace: 'shop', name: 'frontend', uid: 'sa-1', annotations: { 'gatehouse.io/class': 'agent' } });
    const second = reclassified();
    expect(second).toMatchObject({ class: 'agent' });
    expect(second).not.toBe(first);
    expect(reclassified()).toBe(second);
    view.putServiceAccount({ namespace: 'shop', name: 'frontend', uid: 'sa-1', annotations: {} });
    expect(reclassified()).toBe(identity);
  });

  test('an identity that is not frozen gets a copy each time (one kept could go stale as the object changes)', () => {
    const view = seeded();
    const checker = lifecycle(view);
    const identity = mtlsWorkload('spiffe://cluster.local/ns/shop/sa/frontend') as Extract<Identity, { kind: 'workload' }>;
    const first = checker.check(identity, 0);
    (identity as { authn: string }).authn = 'jwt';
    const second = checker.check(identity, 0);
    expect(first).toMatchObject({ ok: true, identity: { class: 'service', authn: 'mtls' } });
    expect(second).toMatchObject({ ok: true, identity: { class: 'service', authn: 'jwt' } });
  });
});

describe('ClusterView', () => {
  test('a late delete of an old uid does not remove the pod that replaced it', () => {
    const view = seeded();
    replacePod(view);
    view.removePod({ namespace: 'shop', name: 'frontend-1', uid: 'pod-1' });
    expect(view.isLivePod('pod-1b')).toBe(true);
    expect(view.wasDeleted('pod-1')).toBe(true);
  });

  test('an object seen again after a delete is live again (a relist brought it back)', () => {
    const view = seeded();
    deletePod(view);
    view.putPod({ namespace: 'shop', name: 'frontend-1', uid: 'pod-1' });
    expect(view.isLivePod('pod-1')).toBe(true);
    expect(view.wasDeleted('pod-1')).toBe(false);
  });

  test('namespace labels are replaced, not merged', () => {
    const view = new ClusterView();
    view.putNamespace({ name: 'shop', uid: 'n', labels: { a: '1', b: '2' } });
    view.putNamespace({ name: 'shop', uid: 'n', labels: { a: '3' } });
    expect([...(view.namespaceLabels('shop') ?? [])]).toEqual([['a', '3']]);
    view.removeNamespace({ name: 'shop', uid: 'n' });
    expect(view.namespaceLabels('shop')).toBeUndefined();
  });

  test('tombstones are bounded', () => {
    const view = new ClusterView({ tombstones: 2 });
    for (const uid of ['a', 'b', 'c']) {
      view.putPod({ namespace: 'x', name: uid, uid });
      view.removePod({ namespace: 'x', name: uid, uid });
    }
    expect(['a', 'b', 'c'].map((uid) => view.wasDeleted(uid))).toEqual([false, true, true]);
  });
});
