import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../src/config.js';
import type { Identity } from '../../src/core/identity.js';
import { startKubernetes, type KubernetesRuntime } from '../../src/kubernetes/index.js';
import { FakeApiServer } from './fake-api-server.js';
import { boundToken, mtlsWorkload, namespace, pod, serviceAccount, waitFor } from './support.js';

/** Against a fake API server on loopback: watch events reach Checks, outages are seen, 410 relists. */

/** Short restarts for quick tests; pages of one object so that every list follows `continue`. */
const tuning = { restartInitialMs: 50, restartMaxMs: 400, staleCheckIntervalMs: 25, listPageSize: 1 };
const dirs: string[] = [];
const servers: FakeApiServer[] = [];
const runtimes: KubernetesRuntime[] = [];

afterAll(async () => {
  for (const runtime of runtimes) runtime.stop();
  for (const server of servers) await server.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Started {
  readonly runtime: KubernetesRuntime;
  readonly logs: Array<{ msg: string; meta?: object }>;
  readonly staleReports: boolean[];
  check(identity: Identity): ReturnType<KubernetesRuntime['lifecycle']['check']>;
}

async function startAgainst(server: FakeApiServer, options: Partial<Config['kubernetes']> = {}): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-kube-'));
  dirs.push(dir);
  const logs: Started['logs'] = [];
  const staleReports: boolean[] = [];
  const config: Config['kubernetes'] = {
    enabled: true,
    kubeconfig: server.writeKubeconfig(dir),
    staleAfterSeconds: 1,
    failClosed: true,
    tokenReview: false,
    ...options,
  };
  const runtime = await startKubernetes(config, {
    trustDomains: ['cluster.local'],
    audiences: ['gatehouse'],
    log: (msg, meta) => logs.push({ msg, meta }),
    metrics: { stale: (isStale) => staleReports.push(isStale) },
    tuning,
  });
  runtimes.push(runtime);
  return { runtime, logs, staleReports, check: (identity) => runtime.lifecycle.check(identity, Date.now()) };
}

async function seededServer(): Promise<FakeApiServer> {
  const server = await FakeApiServer.start();
  servers.push(server);
  server.put('namespaces', namespace('shop', { team: 'orders', env: 'prod' }));
  server.put('serviceaccounts', serviceAccount('shop', 'frontend', 'sa-frontend-1', 'service'));
  server.put('serviceaccounts', serviceAccount('shop', 'builder', 'sa-builder-1'));
  server.put('pods', pod('shop', 'frontend-1', 'pod-1'));
  server.put('pods', pod('shop', 'frontend-2', 'pod-2'));
  return server;
}

const inSync = (runtime: KubernetesRuntime) => (runtime.readiness().stale ? undefined : true);
const refusalOf = (result: ReturnType<Started['check']>) => (result.ok ? undefined : result);

describe('watch events reach Checks', () => {
  let server: FakeApiServer;
  let k: Started;

  beforeAll(async () => {
    server = await seededServer();
    k = await startAgainst(server);
    await waitFor('the first sync', () => inSync(k.runtime));
  });

  test('a bound token of a live pod and service account passes, with the annotated class', () => {
    const result = k.check(boundToken({ serviceAccountUid: 'sa-frontend-1', podName: 'frontend-1', podUid: 'pod-1' }));
    expect(result).toMatchObject({ ok: true, identity: { class: 'service' } });
  });

  test('pod deleted: its tokens are refused within 2 s of the DELETED event', async () => {
    const token = boundToken({ serviceAccountUid: 'sa-frontend-1', podName: 'frontend-1', podUid: 'pod-1' });
    const deletedAt = Date.now();
    server.remove('pods', 'shop', 'frontend-1');
    const refusal = await waitFor('the pod token to be refused', () => refusalOf(k.check(token)), 2_000, 5);
    expect(Date.now() - deletedAt).toBeLessThan(2_000);
    expect(refusal).toEqual({ ok: false, code: 'credential_revoked', reason: 'pod shop/frontend-1 uid pod-1 no longer exists' });
    expect(k.check(boundToken({ serviceAccountUid: 'sa-frontend-1', podName: 'frontend-2', podUid: 'pod-2' })).ok).toBe(true);
  });

  test('service account deleted and recreated: old tokens refused, new ones accepted', async () => {
    const old = boundToken({ serviceAccountUid: 'sa-frontend-1', podName: 'frontend-2', podUid: 'pod-2' });
    const fresh = boundToken({ serviceAccountUid: 'sa-frontend-2', podName: 'frontend-2', podUid: 'pod-2' });
    server.remove('serviceaccounts', 'shop', 'frontend');
    await waitFor('the deleted account to refuse', () => refusalOf(k.check(old)), 2_000, 5);
    server.put('serviceaccounts', serviceAccount('shop', 'frontend', 'sa-frontend-2', 'service'));
    await waitFor('the new account to pass', () => (k.check(fresh).ok ? true : undefined), 2_000, 5);
    expect(k.check(old)).toEqual({
      ok: false,
      code: 'credential_revoked',
      reason: 'service account shop/frontend uid sa-frontend-1 no longer exists (the name now has uid sa-frontend-2)',
    });
  });

  test('annotation change: the class follows, for tokens and mTLS peers alike', async () => {
    const token = boundToken({ serviceAccountName: 'builder', serviceAccountUid: 'sa-builder-1' }, 'automation');
    const peer = mtlsWorkload('spiffe://cluster.local/ns/shop/sa/builder', 'automation');
    const classOf = (identity: Identity): string | undefined => {
      const result = k.check(identity);
      return result.ok && result.identity.kind === 'workload' ? result.identity.class : undefined;
    };
    expect(classOf(token)).toBe('automation');
    server.put('serviceaccounts', serviceAccount('shop', 'builder', 'sa-builder-1', 'build'));
    await waitFor('the build class', () => (classOf(token) === 'build' ? true : undefined), 2_000, 5);
    expect(classOf(peer)).toBe('build');
    // An unknown value is ignored: the class from the config rules applies again.
    server.put('serviceaccounts', serviceAccount('shop', 'builder', 'sa-builder-1', 'not-a-class'));
    await waitFor('the configured class again', () => (classOf(peer) === 'automation' ? true : undefined), 2_000, 5);
  });

  test('another trust domain does not take the cluster service account class', () => {
    const foreign = mtlsWorkload('spiffe://partner.example/ns/shop/sa/frontend');
    expect(k.check(foreign)).toMatchObject({ ok: true, identity: { class: 'unknown' } });
  });

  test('namespace labels follow the watch', async () => {
    expect(Object.fromEntries(k.runtime.namespaceLabels('shop') ?? [])).toEqual({ team: 'orders', env: 'prod' });
    server.put('namespaces', namespace('shop', { team: 'payments' }));
    await waitFor('the new label', () => (k.runtime.namespaceLabels('shop')?.get('team') === 'payments' ? true : undefined), 2_000, 5);
    expect(k.runtime.namespaceLabels('shop')?.has('env')).toBe(false);
    server.put('namespaces', namespace('batch', {}));
    server.remove('namespaces', undefined, 'batch');
    await waitFor('the namespace to go', () => (server.openWatches > 0 && k.runtime.namespaceLabels('batch') === undefined ? true : undefined));
  });

  test('410 Gone in an open watch: the informer relists and the view matches the server', async () => {
    const listsBefore = server.lists.pods;
    // Changes the client can learn only from a new list: their events are gone with the history.
    server.removeSilently('pods', 'shop', 'frontend-2');
    server.putSilently('pods', pod('shop', 'frontend-3', 'pod-3'));
    server.expire('pods');
    await waitFor('a relist', () => (server.lists.pods > listsBefore ? true : undefined), 5_000);
    const gone = boundToken({ serviceAccountUid: 'sa-frontend-2', podName: 'frontend-2', podUid: 'pod-2' });
    const added = boundToken({ serviceAccountUid: 'sa-frontend-2', podName: 'frontend-3', podUid: 'pod-3' });
    await waitFor('the relisted view', () => (k.check(added).ok ? true : undefined), 2_000, 5);
    expect(k.check(gone)).toMatchObject({ ok: false, code: 'credential_revoked' });
    expect(server.lists.pods).toBe(listsBefore + 1);
  });

  test('410 Gone when resuming after a dropped watch: relist, and events flow again', async () => {
    const listsBefore = server.lists.pods;
    const goneBefore = server.gone.pods;
    server.dropWatches('pods');
    server.removeSilently('pods', 'shop', 'frontend-3');
    server.compact('pods');
    await waitFor('a relist', () => (server.lists.pods > listsBefore ? true : undefined), 5_000);
    expect(server.gone.pods).toBeGreaterThan(goneBefore);
    const removed = boundToken({ serviceAccountUid: 'sa-frontend-2', podName: 'frontend-3', podUid: 'pod-3' });
    await waitFor('the removal to show', () => refusalOf(k.check(removed)), 2_000, 5);
    await waitFor('the watch to reopen', () => inSync(k.runtime));
    server.put('pods', pod('shop', 'frontend-4', 'pod-4'));
    const next = boundToken({ serviceAccountUid: 'sa-frontend-2', podName: 'frontend-4', podUid: 'pod-4' });
    await waitFor('events after the relist', () => (k.check(next).ok ? true : undefined), 2_000, 5);
  });

  test('readiness tells each resource apart', () => {
    const { stale, detail } = k.runtime.readiness();
    expect(stale).toBe(false);
    expect(detail).toMatchObject({
      state: 'fresh',
      staleAfterSeconds: 1,
      failClosed: true,
      resources: { pods: { synced: true, everSynced: true }, serviceaccounts: { synced: true }, namespaces: { synced: true } },
    });
    expect(k.staleReports).toEqual([true, false]);
  });

  test('lists are read page by page', () => {
    expect(server.listPages.pods).toBeGreaterThan(server.lists.pods);
  });

  test('the kubeconfig token is sent on lists and watches', () => {
    const paths = server.requests.filter((r) => r.path.startsWith('/api/v1/'));
    expect(paths.length).toBeGreaterThan(0);
    expect(new Set(paths.map((r) => r.authorization))).toEqual(new Set(['Bearer sa-token']));
  });
});

describe('API server unreachable', () => {
  let server: FakeApiServer;
  let closed: Started;
  let open: Started;
  const live = boundToken({ serviceAccountUid: 'sa-frontend-1', podName: 'frontend-2', podUid: 'pod-2' });
  const deleted = boundToken({ serviceAccountUid: 'sa-frontend-1', podName: 'frontend-1', podUid: 'pod-1' });
  const peer = mtlsWorkload('spiffe://cluster.local/ns/shop/sa/frontend');

  beforeAll(async () => {
    server = await seededServer();
    closed = await startAgainst(server, { failClosed: true });
    open = await startAgainst(server, { failClosed: false });
    await waitFor('the first sync', () => (inSync(closed.runtime) && inSync(open.runtime) ? true : undefined));
    server.remove('pods', 'shop', 'frontend-1');
    await waitFor('the deletion', () => (refusalOf(closed.check(deleted)) && refusalOf(open.check(deleted)) ? true : undefined));
  });

  test('longer than staleAfterSeconds: bound tokens refused when failing closed, passed when open', async () => {
    const downAt = Date.now();
    await server.down();
    await waitFor('stale readiness', () => (closed.runtime.readiness().stale && open.runtime.readiness().stale ? true : undefined), 5_000);
    expect(Date.now() - downAt).toBeGreaterThanOrEqual(1_000);

    expect(closed.check(live)).toMatchObject({ ok: false, code: 'liveness_unknown' });
    expect(open.check(live)).toMatchObject({ ok: true });
    // mTLS peers carry no bound token: nothing to be unsure of.
    expect(closed.check(peer)).toMatchObject({ ok: true, identity: { class: 'service' } });
    // A deletion seen before the outage stays a revocation, failing open or not.
    expect(open.check(deleted)).toMatchObject({ ok: false, code: 'credential_revoked' });
    expect(closed.check(deleted)).toMatchObject({ ok: false, code: 'credential_revoked' });

    const { detail } = closed.runtime.readiness();
    expect(detail).toMatchObject({ state: 'stale', resources: { pods: { synced: false, everSynced: true } } });
    const pods = (detail['resources'] as Record<string, { lastError: string | null; lastHealthyAt: string | null }>)['pods'];
    expect(pods?.lastHealthyAt).not.toBeNull();
    expect(pods?.lastError).toMatch(/ECONNREFUSED|UND_ERR_SOCKET/);
    await waitFor('the stale metric', () => (closed.staleReports.at(-1) === true ? true : undefined), 1_000);
  });

  test('after the server returns: in sync again, bound tokens pass', async () => {
    await server.up();
    await waitFor('the reconnect', () => (inSync(closed.runtime) && inSync(open.runtime) ? true : undefined), 10_000);
    expect(closed.check(live)).toMatchObject({ ok: true });
    await waitFor('the in-sync metric', () => (closed.staleReports.at(-1) === false ? true : undefined), 1_000);
    expect(closed.logs.some((line) => line.msg === 'kubernetes watch failed; restarting')).toBe(true);
  });

  test('a dropped connection that comes back at once never becomes stale', async () => {
    const reportsBefore = closed.staleReports.length;
    server.dropWatches();
    await waitFor('the watches to reopen', () => (server.openWatches >= 6 ? true : undefined), 5_000);
    expect(closed.check(live)).toMatchObject({ ok: true });
    expect(closed.staleReports.length).toBe(reportsBefore);
  });
});

describe('before the first sync', () => {
  test('liveness is unknown: refused when failing closed, passed when open; in sync once the server answers', async () => {
    const server = await FakeApiServer.start();
    servers.push(server);
    server.put('serviceaccounts', serviceAccount('shop', 'frontend', 'sa-frontend-1'));
    server.put('pods', pod('shop', 'frontend-1', 'pod-1'));
    await server.down();
    const closed = await startAgainst(server, { failClosed: true });
    const open = await startAgainst(server, { failClosed: false });
    const token = boundToken({ serviceAccountUid: 'sa-frontend-1', podName: 'frontend-1', podUid: 'pod-1' });

    expect(closed.check(token)).toEqual({ ok: false, code: 'liveness_unknown', reason: 'the cluster watches have not synced yet' });
    expect(open.check(token)).toMatchObject({ ok: true });
    expect(closed.runtime.readiness()).toMatchObject({ stale: true, detail: { state: 'unsynced' } });
    await waitFor('a failed list', () => {
      const pods = (closed.runtime.readiness().detail['resources'] as Record<string, { lastError: string | null }>)['pods'];
      return pods?.lastError ?? undefined;
    });

    await server.up();
    await waitFor('the first sync', () => inSync(closed.runtime), 10_000);
    expect(closed.check(token)).toMatchObject({ ok: true });
  });

  test('a kubeconfig that cannot be read stops the start with a config error', async () => {
    await expect(
      startKubernetes(
        { enabled: true, kubeconfig: '/nonexistent/kubeconfig', staleAfterSeconds: 1, failClosed: true, tokenReview: false },
        { trustDomains: ['cluster.local'], audiences: ['gatehouse'], log: () => undefined },
      ),
    ).rejects.toMatchObject({ code: 'config', message: expect.stringContaining('/nonexistent/kubeconfig') });
  });
});
