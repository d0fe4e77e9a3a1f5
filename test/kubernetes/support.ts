import type { BoundTokenClaims, Identity, WorkloadClass } from '../../src/core/identity.js';
import type { KubeObject } from './fake-api-server.js';
import { spiffeId as spiffe } from '../support/expect-ok.js';

/** Polls `probe` every `everyMs` until it returns something other than undefined, or fails after `withinMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined, withinMs = 5_000, everyMs = 10): Promise<T> {
  const deadline = Date.now() + withinMs;
  while (true) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}


/** A workload authenticated by a bound service-account token of `shop/<sa>`. */
export function boundToken(claims: Partial<BoundTokenClaims> & { serviceAccountUid: string }, cls: WorkloadClass = 'unknown'): Identity {
  const kubernetes: BoundTokenClaims = { namespace: 'shop', serviceAccountName: 'frontend', ...claims };
  return {
    kind: 'workload',
    spiffeId: spiffe(`spiffe://cluster.local/ns/${kubernetes.namespace}/sa/${kubernetes.serviceAccountName}`),
    class: cls,
    authn: 'jwt',
    issuer: 'https://kubernetes.default.svc.cluster.local',
    kubernetes,
    expiresAt: Math.floor(Date.now() / 1000) + 3600,
  };
}

export function mtlsWorkload(id: string, cls: WorkloadClass = 'unknown'): Identity {
  return { kind: 'workload', spiffeId: spiffe(id), class: cls, authn: 'mtls' };
}

export const pod = (namespace: string, name: string, uid: string, serviceAccountName = 'frontend'): KubeObject => ({
  metadata: { namespace, name, uid, labels: { app: name } },
  spec: { serviceAccountName, containers: [{ name: 'app', image: 'example/app:1' }] },
  status: { phase: 'Running' },
});

export const serviceAccount = (namespace: string, name: string, uid: string, cls?: string): KubeObject => ({
  metadata: {
    namespace,
    name,
    uid,
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"blob"}', ...(cls === undefined ? {} : { 'gatehouse.io/class': cls }) },
  },
});

export const namespace = (name: string, labels: Record<string, string>): KubeObject => ({ metadata: { name, uid: `ns-${name}`, labels } });

/** A token with a readable payload and a meaningless signature: TokenReview, not gatehouse, judges it. */
export function opaqueJwt(payload: Record<string, unknown>): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', kid: 'k' })}.${part(payload)}.${Buffer.from(String(Math.random())).toString('base64url')}`;
}
