/**
 * cedar-wasm reports source locations as UTF-8 byte offsets into the text it was given; editors
 * want lines and columns. These convert between the two.
 */

/** The UTF-16 index in `text` of the UTF-8 byte offset `byteOffset` (clamped to the text). */
export function indexOfByteOffset(text: string, byteOffset: number): number {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.subarray(0, Math.max(0, byteOffset)).toString('utf8').length;
}

/** 1-based line and column (in code points) of the UTF-16 index `index` in `text`. */
export function lineColAt(text: string, index: number): { line: number; col: number } {
  return new LineIndex(text).at(index);
}

/**
 * Lines and columns of many places in one text. Finding a line from the text's start each time
 * costs the length of the text per place, which made a file of 10,000 policies take longer to
 * locate than Cedar took to parse it; the line starts are found once here instead.
 */
export class LineIndex {
  /** UTF-16 index of the first character of each line; a line ends at `\n` only. */
  readonly #starts: number[] = [0];

  constructor(private readonly text: string) {
    for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) this.#starts.push(at + 1);
  }

  /** 1-based line and column (in code points) of the UTF-16 index `index`, clamped to the text. */
  at(index: number): { line: number; col: number } {
    const clamped = Math.max(0, Math.min(index, this.text.length));
    let low = 0;
    let high = this.#starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.#starts[middle]! <= clamped) low = middle;
      else high = middle - 1;
    }
    return { line: low + 1, col: codePoints(this.text, this.#starts[low]!, clamped) + 1 };
  }
}

function codePoints(text: string, from: number, to: number): number {
  let count = 0;
  for (let index = from; index < to; index++) {
    const unit = text.charCodeAt(index);
    // A high surrogate followed by a low one is one code point; the pair counts once, at its low half.
    const pairedHigh = unit >= 0xd800 && unit <= 0xdbff && index + 1 < to && (text.charCodeAt(index + 1) & 0xfc00) === 0xdc00;
    if (!pairedHigh) count += 1;
  }
  return count;
}
