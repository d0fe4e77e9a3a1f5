/**
 * What `kustomize build` makes of an overlay of the base, for the parts gatehouse's overlays use:
 * `resources` naming the base, `configMapGenerator` with `behavior: replace` of a base
 * generator, and `patches` (a strategic merge patch file, or an inline JSON 6902 patch with a
 * `target`). Anything else throws rather than being guessed at, so an overlay that grows past
 * this emulation fails its test instead of passing untested. The base is built by kustomize.ts.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { buildBase, generatorFile, readKustomization, type ConfigMapGenerator } from './kustomize.js';
import { k8sDir, type ManifestDoc } from './manifests.js';

interface Target {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

interface Patch {
  readonly path?: string;
  readonly patch?: string;
  readonly target?: Target;
}

interface Overlay {
  readonly resources?: string[];
  readonly configMapGenerator?: (ConfigMapGenerator & { behavior?: string })[];
  readonly patches?: Patch[];
  readonly [field: string]: unknown;
}

const supported = new Set(['apiVersion', 'kind', 'resources', 'configMapGenerator', 'patches']);

/**
 * Merge keys of the lists a strategic merge patch may touch here (the `patchMergeKey` of the
 * Kubernetes API types); any other list is replaced whole, as for a list without one.
 */
const mergeKeys: Readonly<Record<string, string>> = {
  'Service:spec.ports': 'port',
  'Deployment:spec.template.spec.containers': 'name',
  'Deployment:spec.template.spec.containers.ports': 'containerPort',
  'Deployment:spec.template.spec.containers.env': 'name',
  'Deployment:spec.template.spec.containers.volumeMounts': 'mountPath',
  'Deployment:spec.template.spec.volumes': 'name',
};

/** The overlay in `k8s/<dir>` built: the base with the overlay's generators and patches applied. */
export function buildOverlay(dir: string): ManifestDoc[] {
  const overlayDir = join(k8sDir, dir);
  const overlay = parseYaml(readFileSync(join(overlayDir, 'kustomization.yaml'), 'utf8')) as Overlay;
  const unknown = Object.keys(overlay).filter((key) => !supported.has(key));
  if (unknown.length > 0) throw new Error(`${dir}: kustomization fields this emulation does not build: ${unknown.join(', ')}`);
  const bases = (overlay.resources ?? []).map((entry) => resolve(overlayDir, entry));
  if (bases.length !== 1 || bases[0] !== resolve(k8sDir)) throw new Error(`${dir}: resources must be exactly the base (k8s/), not ${JSON.stringify(overlay.resources)}`);

  const docs = buildBase(replacedFiles(overlay.configMapGenerator ?? [], overlayDir));
  for (const [index, patch] of (overlay.patches ?? []).entries()) applyPatch(docs, patch, overlayDir, `${dir}patches[${index}]`);
  return docs;
}

/**
 * `behavior: replace` of a base generator → the file contents the base's generator is built from.
 * The base generator's name, namespace and options stay; the data is the overlay's.
 */
function replacedFiles(generators: readonly (ConfigMapGenerator & { behavior?: string })[], overlayDir: string): Record<string, string> {
  const base = readKustomization().configMapGenerator;
  const files: Record<string, string> = {};
  for (const generator of generators) {
    if (generator.behavior !== 'replace') throw new Error(`configMapGenerator ${generator.name}: only behavior: replace is built here, not ${generator.behavior ?? 'create'}`);
    const replaced = base.find((candidate) => candidate.name === generator.name && (candidate.namespace ?? '') === (generator.namespace ?? ''));
    if (replaced === undefined) throw new Error(`configMapGenerator ${generator.name}: replaces no generator of the base`);
    const ownKeys = (generator.files ?? []).map((entry) => generatorFile(entry).key).sort();
    const baseEntries = (replaced.files ?? []).map(generatorFile);
    if (JSON.stringify(ownKeys) !== JSON.stringify(baseEntries.map((entry) => entry.key).sort())) {
      throw new Error(`configMapGenerator ${generator.name}: keys ${ownKeys.join(', ')} differ from the base's; not built here`);
    }
    for (const entry of (generator.files ?? []).map(generatorFile)) {
      files[baseEntries.find((base) => base.key === entry.key)!.path] = readFileSync(join(overlayDir, entry.path), 'utf8');
    }
  }
  return files;
}

function applyPatch(docs: ManifestDoc[], patch: Patch, overlayDir: string, where: string): void {
  if (patch.path !== undefined) {
    for (const doc of parseAllDocuments(readFileSync(join(overlayDir, patch.path), 'utf8'))) {
      const body = doc.toJS() as Record<string, unknown>;
      const metadata = body['metadata'] as { name: string; namespace?: string };
      const at = one(docs, { kind: String(body['kind']), name: metadata.name, namespace: metadata.namespace }, `${where} (${patch.path})`);
      docs[at] = { ...docs[at]!, body: strategicMerge(docs[at]!.body, body, `${String(body['kind'])}:`) as Record<string, unknown> };
    }
    return;
  }
  if (patch.patch === undefined || patch.target === undefined) throw new Error(`${where}: needs a path, or a patch with a target`);
  const parsed: unknown = parseYaml(patch.patch);
  const target = docs[one(docs, patch.target, where)]!;
  if (!Array.isArray(parsed)) throw new Error(`${where}: only JSON 6902 operations are built inline`);
  for (const op of parsed as { op: string; path: string; value?: unknown }[]) jsonPatch(target.body, op, where);
}

/** The index of the one resource `target` names. */
function one(docs: readonly ManifestDoc[], target: Target, where: string): number {
  const matches = docs.flatMap((doc, index) => {
    const metadata = doc.body['metadata'] as { name?: string; namespace?: string } | undefined;
    return doc.body['kind'] === target.kind && metadata?.name === target.name && (target.namespace === undefined || metadata.namespace === target.namespace) ? [index] : [];
  });
  if (matches.length !== 1) throw new Error(`${where}: the target ${target.kind}/${target.name} matches ${matches.length} resources`);
  return matches[0]!;
}

/** Kubernetes strategic merge: maps merge, `null` deletes, keyed lists merge by their key. */
export function strategicMerge(base: unknown, patch: unknown, path: string): unknown {
  if (Array.isArray(patch)) {
    const key = mergeKeys[path];
    if (key === undefined || !Array.isArray(base)) return structuredClone(patch);
    const merged = [...base] as Record<string, unknown>[];
    for (const item of patch as Record<string, unknown>[]) {
      if (item[key] === undefined || '$patch' in item) throw new Error(`${path}: an item without its merge key ${key}, or a $patch directive`);
      const at = merged.findIndex((existing) => existing[key] === item[key]);
      if (at < 0) merged.push(structuredClone(item));
      else merged[at] = strategicMerge(merged[at], item, path) as Record<string, unknown>;
    }
    return merged;
  }
  if (patch === null || typeof patch !== 'object') return patch;
  const out: Record<string, unknown> = base !== null && typeof base === 'object' && !Array.isArray(base) ? { ...(base as Record<string, unknown>) } : {};
  for (const [field, value] of Object.entries(patch)) {
    if (field.startsWith('$')) throw new Error(`${path}${field}: strategic merge directives are not built here`);
    if (value === null) delete out[field];
    else out[field] = strategicMerge(out[field], value, `${path}${path.endsWith(':') ? '' : '.'}${field}`);
  }
  return out;
}

/** One RFC 6902 operation (add, replace, remove) on `doc`, in place. */
export function jsonPatch(doc: Record<string, unknown>, op: { op: string; path: string; value?: unknown }, where: string): void {
  const tokens = op.path.split('/').slice(1).map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = tokens.pop();
  if (last === undefined) throw new Error(`${where}: cannot ${op.op} the whole document`);
  let parent: unknown = doc;
  for (const token of tokens) {
    parent = Array.isArray(parent) ? parent[Number(token)] : (parent as Record<string, unknown> | undefined)?.[token];
    if (parent === undefined || parent === null || typeof parent !== 'object') throw new Error(`${where}: ${op.path} does not exist`);
  }
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(index) || index < 0 || index > parent.length || (op.op !== 'add' && index >= parent.length)) throw new Error(`${where}: ${op.path} is out of range`);
    if (op.op === 'add') parent.splice(index, 0, structuredClone(op.value));
    else if (op.op === 'replace') parent[index] = structuredClone(op.value);
    else if (op.op === 'remove') parent.splice(index, 1);
    else throw new Error(`${where}: op ${op.op} is not built here`);
    return;
  }
  const record = parent as Record<string, unknown>;
  if ((op.op === 'replace' || op.op === 'remove') && !(last in record)) throw new Error(`${where}: ${op.path} does not exist`);
  if (op.op === 'add' || op.op === 'replace') record[last] = structuredClone(op.value);
  else if (op.op === 'remove') delete record[last];
  else throw new Error(`${where}: op ${op.op} is not built here`);
}
