import { createHash } from 'node:crypto';

/**
 * The SHA-256 of the tokens seen last, one per slot chosen by the token's last characters (its
 * signature's, random): a caller repeats its token on every request until it expires, and
 * comparing it costs less than hashing it. A token that lands on a slot held by another is
 * hashed and takes the slot; whatever its spelling, it is never given another token's digest.
 */
export class RecentDigests {
  readonly #tokens: (string | undefined)[] = new Array<string | undefined>(64).fill(undefined);
  readonly #digests: string[] = new Array<string>(64).fill('');

  of(token: string): string {
    const slot = token.length < 2 ? 0 : (token.charCodeAt(token.length - 1) * 31 + token.charCodeAt(token.length - 2)) & 63;
    if (this.#tokens[slot] === token) return this.#digests[slot]!;
    const digest = createHash('sha256').update(token).digest('base64url');
    this.#tokens[slot] = token;
    this.#digests[slot] = digest;
    return digest;
  }
}
