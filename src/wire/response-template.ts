import type protobuf from 'protobufjs';
import { answerDecisionId, answerShape } from '../core/respond.js';

/**
 * The server's encoding of a CheckResponse, kept per answer. An allow's bytes differ from an
 * earlier allow of the same shape (`answerShape`: principal, actor, determining policies,
 * options) only in its decision id, whose length never changes: so once two such answers are
 * known, every later one is a copy of the bytes with its own id written in. Encoding the response
 * was the largest allocation of a cached Check and a tenth or more of its CPU on the gRPC wire
 * (docs/performance.md).
 *
 * Exact by check, not by assumption. The first answer of a shape is encoded by protobufjs and
 * every place its id appears in the bytes is noted (overlapping places: no template). The next
 * one with another id is encoded by protobufjs too, and must equal the first with its id written
 * in those places; otherwise the shape is never templated. A place that only happened to hold the
 * first id (a principal spelled like it) would keep the first id in the second encoding and fail
 * that check. Any answer without a shape, or whose id is not of the template's length, is
 * encoded by protobufjs.
 */
export class ResponseEncoder {
  /** null: the shape's answers are not templated. */
  readonly #templates = new WeakMap<object, Template | null>();

  constructor(private readonly type: protobuf.Type) {}

  encode(response: object): Uint8Array {
    const message = response as { readonly [field: string]: unknown };
    const shape = (message as Shaped)[answerShape];
    const id = (message as Shaped)[answerDecisionId];
    if (shape === undefined || id === undefined) return this.type.encode(message).finish();
    const template = this.#templates.get(shape);
    if (template?.ready && id.length === template.id.length && printableAscii.test(id)) {
      const out = Buffer.allocUnsafe(template.bytes.length);
      template.bytes.copy(out);
      for (const at of template.offsets) out.write(id, at, 'latin1');
      return out;
    }
    const bytes = this.type.encode(message).finish();
    if (template === null || !printableAscii.test(id)) return bytes;
    if (template === undefined) this.#templates.set(shape, firstOf(Buffer.from(bytes), id));
    else if (id.length === template.id.length && id !== template.id) this.#templates.set(shape, confirmed(template, bytes, id));
    return bytes;
  }
}

interface Template {
  /** The first answer's bytes, with its id in them. */
  readonly bytes: Buffer;
  /** Where the id starts, each place it is written. */
  readonly offsets: readonly number[];
  readonly id: string;
  /** Checked against a second answer of the shape. */
  readonly ready: boolean;
}

interface Shaped {
  readonly [answerShape]?: object;
  readonly [answerDecisionId]?: string;
}

/**
 * Printable ASCII, as every decision id is: the same bytes whether protobufjs writes the id as
 * UTF-8 or the copy writes it as latin1 (which would differ from U+0080 on).
 */
const printableAscii = /^[\x21-\x7e]+$/;

function firstOf(bytes: Buffer, id: string): Template | null {
  const needle = Buffer.from(id, 'latin1');
  const offsets: number[] = [];
  for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) {
    if (offsets.length > 0 && at < offsets[offsets.length - 1]! + needle.length) return null;
    offsets.push(at);
  }
  return offsets.length === 0 ? null : { bytes, offsets, id, ready: false };
}

function confirmed(first: Template, second: Uint8Array, id: string): Template | null {
  const expected = Buffer.from(first.bytes);
  for (const at of first.offsets) expected.write(id, at, 'latin1');
  return expected.equals(second) ? { ...first, ready: true } : null;
}
