/**
 * Deterministic randomness for the fuzzers: one seed replays a whole run byte for byte, so a
 * failure report names its seed and iteration and nothing else is needed to reproduce it.
 */

/** mulberry32: small, fast, and good enough to pick mutations. */
export class Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }
}

/**
 * Characters that have broken parsers, log lines and headers: line breaks of every kind, NUL,
 * ANSI escapes, DEL and C1 controls, bidi overrides, non-characters, lone surrogates, quotes.
 */
export const hostileCharacters: readonly string[] = [
  '\r', '\n', '\r\n', '\0', '\t', '\x1b[31m', '\x1b]0;title\x07', '\x7f', '\x85', '\x9b',
  '\u2028', '\u2029', '\u202e', '\ufeff', '\uffff', '\ufffd', '\ud800', '\udfff', '😀',
  'é', 'ſ', 'İ', '"', "'", '\\', '%', '%00', '%0a', '%2F', '%2e%2e', '..', '/', '*', '?', '#',
  ';', ',', '=', ':', '@', ' ', '","decision":"allow', '}\n{"decision":"allow"}',
];

/** A string of `length` characters drawn from printable ASCII, hostile characters and random code points. */
export function randomText(random: Random, maxLength: number): string {
  const length = random.chance(0.02) ? random.between(maxLength, maxLength * 8) : random.int(maxLength + 1);
  let out = '';
  while (out.length < length) {
    const roll = random.next();
    if (roll < 0.6) out += String.fromCharCode(random.between(0x20, 0x7e));
    else if (roll < 0.85) out += random.pick(hostileCharacters);
    else if (roll < 0.95) out += String.fromCharCode(random.int(0x20));
    else out += String.fromCodePoint(random.int(0x110000));
  }
  return out;
}

/** `text` with a few characters replaced, inserted or deleted. */
export function mutateText(random: Random, text: string): string {
  let out = text;
  const edits = random.between(1, 3);
  for (let i = 0; i < edits; i++) {
    const at = random.int(out.length + 1);
    const roll = random.int(3);
    const piece = random.chance(0.5) ? random.pick(hostileCharacters) : String.fromCharCode(random.between(0x20, 0x7e));
    if (roll === 0) out = out.slice(0, at) + piece + out.slice(at);
    else if (roll === 1) out = out.slice(0, at) + out.slice(at + 1);
    else out = out.slice(0, at) + piece + out.slice(at + 1);
  }
  return out;
}
