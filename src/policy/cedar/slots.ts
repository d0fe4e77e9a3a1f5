import { preparsePolicySet, preparseSchema } from '@cedar-policy/cedar-wasm/nodejs';
import { messages } from './messages.js';

/** The name a preparsed schema or policy set is held under, or why preparsing it failed. */
export type Preparsed = { ok: true; name: string } | { ok: false; message: string };

/**
 * cedar-wasm keeps preparsed schemas and policy sets by name for the life of the process and
 * has no call to drop one; preparsing under an existing name replaces it. Reusing a few names
 * in turn bounds that memory however often policies reload. A key whose name has since been
 * taken by newer keys (only possible for a caller holding on to an old engine) preparses again
 * on its next call instead of evaluating someone else's policies.
 */
class PreparsedSlots {
  readonly #owners: (string | undefined)[];
  #next = 0;

  constructor(
    private readonly prefix: string,
    size: number,
  ) {
    this.#owners = new Array<string | undefined>(size).fill(undefined);
  }

  /** `preparse` fills the named slot and answers a failure message, or undefined on success. */
  ensure(key: string, preparse: (name: string) => string | undefined): Preparsed {
    const held = this.#owners.indexOf(key);
    if (held !== -1) return { ok: true, name: this.#name(held) };
    const slot = this.#next;
    this.#next = (this.#next + 1) % this.#owners.length;
    // The slot changes hands first, so a half-done preparse can never be mistaken for a key.
    this.#owners[slot] = undefined;
    const name = this.#name(slot);
    const failure = preparse(name);
    if (failure !== undefined) return { ok: false, message: failure };
    this.#owners[slot] = key;
    return { ok: true, name };
  }

  #name(slot: number): string {
    return `${this.prefix}${slot}`;
  }
}

const versions = new PreparsedSlots('gatehouse-', 8);

/** Subsets for `authorizeAmong` have their own few names, so they never take a serving version's slot. */
const subsets = new PreparsedSlots('gatehouse-subset-', 16);

/** One version of the policy set and its schema, both under the same name. */
export function preparseVersion(version: string, schemaText: string, policies: Readonly<Record<string, string>>): Preparsed {
  return versions.ensure(version, (name) => {
    const schema = preparseSchema(name, schemaText);
    if (schema.type === 'failure') return `schema: ${messages(schema.errors)}`;
    const set = preparsePolicySet(name, { staticPolicies: policies });
    return set.type === 'failure' ? `policies: ${messages(set.errors)}` : undefined;
  });
}

/** The named policies of a version, evaluated under the schema preparsed in the version's slot. */
export function preparseSubset(version: string, ids: readonly string[], texts: Readonly<Record<string, string>>): Preparsed {
  return subsets.ensure(`${version}\n${ids.join('\n')}`, (name) => {
    const set = preparsePolicySet(name, { staticPolicies: Object.fromEntries(ids.map((id) => [id, texts[id]!])) });
    return set.type === 'failure' ? `policies: ${messages(set.errors)}` : undefined;
  });
}
