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
  const before = text.slice(0, index);
  const lineStart = before.lastIndexOf('\n') + 1;
  const line = before.split('\n').length;
  return { line, col: [...before.slice(lineStart)].length + 1 };
}
