/** The YAML documents under k8s/, parsed once, for the deployment tests. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const repoRoot = new URL('../../', import.meta.url).pathname;
export const k8sDir = join(repoRoot, 'k8s');

export interface ManifestDoc {
  /** Path under k8s/, e.g. `optional/tokenreview-rbac.yaml`. */
  readonly file: string;
  /** 0-based position among the file's documents. */
  readonly index: number;
  readonly body: Record<string, unknown>;
}

/** Every YAML file under k8s/, sorted, as paths relative to k8s/. */
export function yamlFiles(dir = k8sDir): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
    .sort();
}

/** All documents of one file; a parse error or warning, or an empty document, throws naming the file. */
export function readDocs(file: string): ManifestDoc[] {
  const path = join(k8sDir, file);
  const parsed = parseAllDocuments(readFileSync(path, 'utf8'), { prettyErrors: true, uniqueKeys: true });
  if (!Array.isArray(parsed)) throw new Error(`${file}: not a YAML stream`);
  return parsed.map((doc, index) => {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) throw new Error(`${relative(repoRoot, path)} document ${index}: ${problems.map((p) => p.message).join('; ')}`);
    const body: unknown = doc.toJS();
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new Error(`${relative(repoRoot, path)} document ${index}: expected a mapping`);
    }
    return { file, index, body: body as Record<string, unknown> };
  });
}

export function allDocs(): ManifestDoc[] {
  return yamlFiles().flatMap(readDocs);
}

/** `apiVersion/kind name` for messages, e.g. `apps/v1/Deployment gatehouse`. */
export function describeDoc(doc: ManifestDoc): string {
  const metadata = doc.body['metadata'] as { name?: string } | undefined;
  return `${doc.file}#${doc.index} ${String(doc.body['apiVersion'])}/${String(doc.body['kind'])} ${metadata?.name ?? '(no name)'}`;
}

/** The one document of `kind` named `name` in the given documents; throws unless exactly one. */
export function findDoc<T = Record<string, unknown>>(docs: readonly ManifestDoc[], kind: string, name: string): T {
  const found = docs.filter((doc) => doc.body['kind'] === kind && (doc.body['metadata'] as { name?: string } | undefined)?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!.body as T;
}
