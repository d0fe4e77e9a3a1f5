/**
 * What `kustomize build k8s/` (and so `kubectl apply -k k8s/`) makes of the base, for the parts
 * the base uses: `resources`, `configMapGenerator` with `files` and `options.labels`, and
 * `images`. There is no kustomize binary in the test environment, so these follow its documented
 * semantics (kubectl.docs.kubernetes.io, "configMapGenerator" and "images") and its hasher
 * (sigs.k8s.io/kustomize/api/hasher); a real build on a cluster is in docs/deploy.md.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { k8sDir, readDocs, type ManifestDoc } from './manifests.js';

export interface ConfigMapGenerator {
  readonly name: string;
  readonly namespace?: string;
  readonly files?: readonly string[];
  readonly options?: { readonly labels?: Record<string, string>; readonly disableNameSuffixHash?: boolean };
}

export interface ImageOverride {
  readonly name: string;
  readonly newName?: string;
  readonly newTag?: string;
}

export interface Kustomization {
  readonly resources: readonly string[];
  readonly configMapGenerator: readonly ConfigMapGenerator[];
  readonly images: readonly ImageOverride[];
  readonly body: Record<string, unknown>;
}

export function readKustomization(): Kustomization {
  const [kustomization, ...rest] = readDocs('kustomization.yaml');
  if (!kustomization || rest.length > 0) throw new Error('k8s/kustomization.yaml must hold one document');
  const body = kustomization.body;
  return {
    resources: (body['resources'] as string[] | undefined) ?? [],
    configMapGenerator: (body['configMapGenerator'] as ConfigMapGenerator[] | undefined) ?? [],
    images: (body['images'] as ImageOverride[] | undefined) ?? [],
    body,
  };
}

/** A generator's `files` entry: `KEY=PATH` or `PATH` (the key is then the file's base name). */
export function generatorFile(entry: string): { key: string; path: string } {
  const at = entry.indexOf('=');
  return at < 0 ? { key: basename(entry), path: entry } : { key: entry.slice(0, at), path: entry.slice(at + 1) };
}

/** The ConfigMap a generator makes from `data`, named `NAME-HASH` unless the hash is disabled. */
export function generateConfigMap(generator: ConfigMapGenerator, data: Record<string, string>): Record<string, unknown> {
  const name = generator.options?.disableNameSuffixHash === true ? generator.name : `${generator.name}-${configMapHash(generator.name, data)}`;
  const metadata: Record<string, unknown> = { name };
  if (generator.namespace !== undefined) metadata['namespace'] = generator.namespace;
  if (generator.options?.labels !== undefined) metadata['labels'] = { ...generator.options.labels };
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata, data };
}

/**
 * kustomize's name suffix: sha256 of the JSON of `{data, kind, name}` (Go's encoding/json: keys
 * sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped), its first ten hex digits with 0, 1, 3, a
 * and e replaced so the suffix never reads as a number or a word.
 */
export function configMapHash(name: string, data: Record<string, string>): string {
  const sorted = Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const json = JSON.stringify({ data: sorted, kind: 'ConfigMap', name }).replace(/[<>&\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const replaced: Readonly<Record<string, string>> = { '0': 'g', '1': 'h', '3': 'k', a: 'm', e: 't' };
  return [...createHash('sha256').update(json).digest('hex').slice(0, 10)].map((char) => replaced[char] ?? char).join('');
}

/**
 * The built base: the resources, then the generated ConfigMaps; references to a generated
 * ConfigMap from a pod template (volumes, projected volumes, envFrom, env) renamed to its
 * generated name, and container images overridden by `images`. `files` overrides what a
 * generator's files hold, to show what an edit would do.
 */
export function buildBase(files: Readonly<Record<string, string>> = {}): ManifestDoc[] {
  const kustomization = readKustomization();
  const resources = kustomization.resources.flatMap(readDocs).map((doc) => ({ ...doc, body: structuredClone(doc.body) }));
  const renamed = new Map<string, string>();
  const generated = kustomization.configMapGenerator.map((generator, index): ManifestDoc => {
    const data = Object.fromEntries(
      (generator.files ?? []).map((entry) => {
        const { key, path } = generatorFile(entry);
        return [key, files[path] ?? readFileSync(join(k8sDir, path), 'utf8')];
      }),
    );
    const body = generateConfigMap(generator, data);
    renamed.set(`${generator.namespace ?? ''}/${generator.name}`, (body['metadata'] as { name: string }).name);
    return { file: `kustomization.yaml#configMapGenerator[${index}]`, index: 0, body };
  });
  for (const doc of resources) {
    const namespace = (doc.body['metadata'] as { namespace?: string } | undefined)?.namespace ?? '';
    const template = (doc.body['spec'] as { template?: { spec?: PodSpec } } | undefined)?.template?.spec;
    if (template !== undefined) rewritePod(template, (name) => renamed.get(`${namespace}/${name}`) ?? name, kustomization.images);
  }
  return [...resources, ...generated];
}

interface ConfigMapRef {
  name?: string;
}
interface PodSpec {
  volumes?: { configMap?: ConfigMapRef; projected?: { sources?: { configMap?: ConfigMapRef }[] } }[];
  containers?: Container[];
  initContainers?: Container[];
}
interface Container {
  image?: string;
  envFrom?: { configMapRef?: ConfigMapRef }[];
  env?: { valueFrom?: { configMapKeyRef?: ConfigMapRef } }[];
}

function rewritePod(pod: PodSpec, rename: (name: string) => string, images: readonly ImageOverride[]): void {
  const refs: (ConfigMapRef | undefined)[] = [];
  for (const volume of pod.volumes ?? []) refs.push(volume.configMap, ...(volume.projected?.sources ?? []).map((source) => source.configMap));
  for (const container of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
    refs.push(...(container.envFrom ?? []).map((from) => from.configMapRef), ...(container.env ?? []).map((env) => env.valueFrom?.configMapKeyRef));
    if (container.image !== undefined) container.image = overrideImage(container.image, images);
  }
  for (const ref of refs) if (ref?.name !== undefined) ref.name = rename(ref.name);
}

/** `images`: an entry whose `name` is the image without tag or digest replaces the name and the tag. */
export function overrideImage(image: string, images: readonly ImageOverride[]): string {
  const match = /^(.*?)(?::([^:/@]+))?(@.+)?$/.exec(image)!;
  const [, name, tag, digest] = match;
  const override = images.find((entry) => entry.name === name);
  if (override === undefined) return image;
  const newTag = override.newTag ?? tag;
  return `${override.newName ?? name!}${newTag === undefined ? '' : `:${newTag}`}${override.newTag === undefined ? (digest ?? '') : ''}`;
}
