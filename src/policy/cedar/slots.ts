import { preparsePolicySet, preparseSchema } from '@cedar-policy/cedar-wasm/nodejs';
import { joinedText, positionOf } from './joined-text.js';
import { messages } from './messages.js';

/** The name a preparsed schema or policy set is held under, or why preparsing it failed. */
export type Preparsed = { ok: true; name: string } | { ok: false; message: string };

/**
 * cedar-wasm keeps preparsed schemas and policy sets by name for the life of the process and
 * has no call to drop one; preparsing under an existing name replaces it. Reusing a few names
 * bounds that memory however often policies reload or requests ask for new subsets. The least
 * recently used key gives up its name first. A key whose name has since been taken by newer keys
 * (only possible for a caller holding on to an old engine) preparses again on its next call
 * instead of evaluating someone else's policies.
 */
class PreparsedSlots {
  /** Key → slot, least recently used first (a Map iterates in insertion order). */
  readonly #held = new Map<string, number>();
  readonly #weights: number[];
  readonly #free: number[];
  #weight = 0;

  constructor(
    private readonly prefix: string,
    size: number,
    /** The most policies all held keys may count together; a key over it alone is still held. */
    private readonly maxWeight = Infinity,
  ) {
    this.#weights = new Array<number>(size).fill(0);
    this.#free = Array.from({ length: size }, (_, slot) => size - 1 - slot);
  }

  /** `preparse` fills the named slot and answers a failure message, or undefined on success. */
  ensure(key: string, weight: number, preparse: (name: string) => string | undefined): Preparsed {
    const held = this.#held.get(key);
    if (held !== undefined) {
      this.#held.delete(key);
      this.#held.set(key, held);
      return { ok: true, name: this.#name(held) };
    }
    while (this.#held.size > 0 && (this.#free.length === 0 || this.#weight + weight > this.maxWeight)) this.#evictOldest();
    // Taken off the free list before preparsing, so a half-done preparse can never be mistaken for a key.
    const slot = this.#free.pop()!;
    const name = this.#name(slot);
    const failure = preparse(name);
    if (failure !== undefined) {
      this.#free.push(slot);
      return { ok: false, message: failure };
    }
    this.#held.set(key, slot);
    this.#weights[slot] = weight;
    this.#weight += weight;
    return { ok: true, name };
  }

  #evictOldest(): void {
    const [key, slot] = this.#held.entries().next().value!;
    this.#held.delete(key);
    this.#weight -= this.#weights[slot]!;
    this.#weights[slot] = 0;
    // A name left holding a large set would keep it until reused; an empty set lets it go now.
    preparsePolicySet(this.#name(slot), { staticPolicies: {} });
    this.#free.push(slot);
  }

  #name(slot: number): string {
    return `${this.prefix}${slot}`;
  }
}

const versions = new PreparsedSlots('gatehouse-', 8);

/** Where a subset of a version stays preparsed: the analysis of `gatehouse report`, or the per-request slices of serving. */
export type SubsetResidency = 'analysis' | 'serving';

/**
 * Each residency has its own names, so neither takes a serving version's slot nor the other's.
 * Serving slices are bounded by count and by the policies they hold together, so a set whose
 * slices are large cannot hold many copies of itself.
 */
const subsets: Readonly<Record<SubsetResidency, PreparsedSlots>> = {
  analysis: new PreparsedSlots('gatehouse-subset-', 16),
  serving: new PreparsedSlots('gatehouse-slice-', 64, 20_000),
};

/**
 * Preparsed sets are given to Cedar as one text (see joined-text.ts), a quarter of the CPU time
 * of the same policies one by one; Cedar's answers then name the policies by place.
 */
function joined(texts: readonly string[]): { staticPolicies: string } {
  return { staticPolicies: joinedText(texts) };
}

/** The id, among `ids` in the order their texts were preparsed, of the policy Cedar named `cedarId`; undefined for a name it should not have given. */
export function policyIdOf(cedarId: string, ids: readonly string[]): string | undefined {
  const position = positionOf(cedarId);
  return position < 0 ? undefined : ids[position];
}

/** One version of the policy set (`texts` of the policies in order) and its schema, both under the same name. */
export function preparseVersion(version: string, schemaText: string, texts: readonly string[]): Preparsed {
  return versions.ensure(version, 0, (name) => {
    const schema = preparseSchema(name, schemaText);
    if (schema.type === 'failure') return `schema: ${messages(schema.errors)}`;
    const set = preparsePolicySet(name, joined(texts));
    return set.type === 'failure' ? `policies: ${messages(set.errors)}` : undefined;
  });
}

/** The named policies of a version (`ids`, in this order), evaluated under the schema preparsed in the version's slot. */
export function preparseSubset(version: string, ids: readonly string[], texts: Readonly<Record<string, string>>, residency: SubsetResidency = 'analysis'): Preparsed {
  // JSON, not ids joined by a separator: an id may hold any character, the separator too.
  return subsets[residency].ensure(JSON.stringify([version, ...ids]), ids.length, (name) => {
    const set = preparsePolicySet(name, joined(ids.map((id) => texts[id]!)));
    return set.type === 'failure' ? `policies: ${messages(set.errors)}` : undefined;
  });
}
