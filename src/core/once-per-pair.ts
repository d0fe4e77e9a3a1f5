/**
 * A value derived from a pair of inputs, made once per pair and kept per first input: a caller's
 * identity object is remembered (XFCC, peer principal, token), and an identity derived from it
 * (reclassified, carried by a peer, with its actor reclassified) must be one object too, or what
 * is kept per identity object downstream (the decision cache key's identity part) is worked out
 * again on every request. One pair per first input: a caller's identity meets one peer, actor
 * or class at a time. Only frozen inputs are kept: a value kept for one that changed would be of
 * what it was.
 */
export class OncePerPair<Base extends object, Part, Derived> {
  readonly #known = new WeakMap<Base, { readonly part: Part; readonly derived: Derived }>();

  of(base: Base, part: Part, make: () => Derived): Derived {
    const known = this.#known.get(base);
    if (known !== undefined && known.part === part) return known.derived;
    const derived = make();
    if (Object.isFrozen(base) && (typeof part !== 'object' || part === null || Object.isFrozen(part))) this.#known.set(base, { part, derived });
    return derived;
  }
}
