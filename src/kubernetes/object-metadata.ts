import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { isRecord } from '../core/is-record.js';
import { classAnnotation } from './cluster-view.js';
import type { KubeApi } from './kube-api.js';

/** The resources the view watches, and what of each object it keeps. */
export const watchedResources = ['pods', 'serviceaccounts', 'namespaces'] as const;
export type WatchedResource = (typeof watchedResources)[number];

export type Slim = KubernetesObject & { metadata: { name: string; namespace?: string; uid: string; resourceVersion?: string } };

/**
 * Asks for metadata only (PartialObjectMetadataList); a server that cannot answer so sends the
 * full objects, which are trimmed on arrival all the same.
 */
const metadataOnly = 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json';

/** Every object of `resource`, page by page, trimmed; with the resourceVersion the watch starts from. */
export async function listAll(api: KubeApi, path: string, resource: WatchedResource, pageSize: number, signal: AbortSignal): Promise<KubernetesListObject<Slim>> {
  const items: Slim[] = [];
  let resourceVersion: unknown;
  let next: string | undefined;
  do {
    const query = new URLSearchParams({ limit: String(pageSize) });
    if (next !== undefined) query.set('continue', next);
    const page = await api.getJson(`${path}?${query.toString()}`, `${resource} list`, { signal, accept: metadataOnly });
    if (!isRecord(page) || !Array.isArray(page['items']) || !isRecord(page['metadata'])) {
      throw new Error(`${resource} list is not a Kubernetes list`);
    }
    for (const item of page['items']) {
      const trimmed = slim(resource, item);
      if (trimmed) items.push(trimmed);
    }
    const meta = page['metadata'];
    resourceVersion = meta['resourceVersion'];
    next = typeof meta['continue'] === 'string' && meta['continue'] !== '' ? meta['continue'] : undefined;
  } while (next !== undefined);
  // Without it the watch would start from "any version" and could miss what happened since the list.
  if (typeof resourceVersion !== 'string' || resourceVersion === '') throw new Error(`${resource} list has no resourceVersion`);
  return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion }, items };
}

export /** Keeps what the view reads, so that the informer's cache does not hold whole pod specs. */
function slim(resource: WatchedResource, obj: unknown): Slim | undefined {
  if (!isRecord(obj) || !isRecord(obj['metadata'])) return undefined;
  const meta = obj['metadata'];
  const { name, namespace, uid, resourceVersion } = meta;
  if (typeof name !== 'string' || typeof uid !== 'string' || name === '' || uid === '') return undefined;
  const metadata: Slim['metadata'] & { labels?: Record<string, string>; annotations?: Record<string, string> } = { name, uid };
  if (typeof namespace === 'string') metadata.namespace = namespace;
  if (typeof resourceVersion === 'string') metadata.resourceVersion = resourceVersion;
  if (resource === 'namespaces') metadata.labels = stringRecord(meta['labels']);
  if (resource === 'serviceaccounts') {
    const value = isRecord(meta['annotations']) ? meta['annotations'][classAnnotation] : undefined;
    metadata.annotations = typeof value === 'string' ? { [classAnnotation]: value } : {};
  }
  return { metadata };
}

function stringRecord(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}
