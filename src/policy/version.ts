import { createHash } from 'node:crypto';
import { basename } from 'node:path';

/** The texts a policy set is made of, as `PolicyEngine.prepare` takes them. */
export interface PolicySetInput {
  readonly files: readonly { readonly name: string; readonly text: string }[];
  readonly schemaText: string;
  readonly schemaFile: string;
}

/**
 * A short name for the content of a policy set: the same texts always give the same version,
 * wherever the directory is, so decision logs from replicas and restarts can be compared.
 */
export function policySetVersion(input: PolicySetInput): string {
  const files = input.files
    .map((file): [string, string] => [basename(file.name), file.text])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify({ files, schema: input.schemaText })).digest('hex').slice(0, 12);
}
