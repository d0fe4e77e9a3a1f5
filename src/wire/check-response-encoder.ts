import { LRUCache } from 'lru-cache';

/** The bytes of one CheckResponse (protobufjs's `encode(message).finish()`). */
export type Encode = (message: { readonly [field: string]: unknown }) => Uint8Array;

/** What a decision id looks like: a ULID, 26 ASCII characters (pipeline/decision-id.ts). */
const decisionIdForm = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** A response's bytes with the decision id's places in them. */
interface Template {
  readonly bytes: Buffer;
  readonly idOffsets: readonly number[];
}

/**
 * CheckResponses encoded once per kind of answer. Every Check's response differs from the last
 * one of the same decision only by its decision id (a header, the metadata, a deny's body), and
 * encoding it field by field was the largest share of gatehouse's own work on a repeated gRPC
 * Check (its allocations, a sixth of all, drove the collector). So the bytes are remembered by
 * everything in the message but the id, and the new id is written into a copy.
 *
 * Exact by construction: the key spells every field of the message (names, order, values) with
 * each occurrence of the id marked, so two messages share a key only if they are equal once each
 * one's id is put in the other's place; the id has a fixed length, so every other byte (lengths
 * included) is the same; and a template is kept only if the id occurs in its bytes exactly as
 * often as in the message, so no other bytes are taken for the id.
 */
export class CheckResponseEncoder {
  private readonly templates: LRUCache<string, Template>;

  constructor(
    private readonly encode: Encode,
    size = 1000,
  ) {
    this.templates = new LRUCache({ max: size });
  }

  encodeResponse(message: { readonly [field: string]: unknown }): Buffer {
    const id = decisionIdOf(message);
    if (id === undefined) return asBuffer(this.encode(message));
    const spelled = { key: '', ids: 0, plain: true };
    spell(message, id, spelled);
    if (!spelled.plain) return asBuffer(this.encode(message));
    const template = this.templates.get(spelled.key);
    if (template !== undefined) return withId(template, id);
    const bytes = asBuffer(this.encode(message));
    const idOffsets = offsetsOf(bytes, id);
    if (idOffsets.length === spelled.ids) this.templates.set(spelled.key, { bytes: Buffer.from(bytes), idOffsets });
    return bytes;
  }
}

/** The id every response carries in `dynamic_metadata` (core/respond.ts), when it has the id's form. */
function decisionIdOf(message: { readonly [field: string]: unknown }): string | undefined {
  const metadata = message['dynamic_metadata'] as { fields?: { decisionId?: { string_value?: unknown } } } | undefined;
  const id = metadata?.fields?.decisionId?.string_value;
  return typeof id === 'string' && decisionIdForm.test(id) ? id : undefined;
}

interface Spelling {
  key: string;
  /** How often the id occurs in the message's strings. */
  ids: number;
  /** False once a value that is not JSON-like was met: such a message is encoded as it is. */
  plain: boolean;
}

/**
 * Appends an unambiguous spelling of `value` with `id` marked: each string is `=` and its length
 * before its text, or `*` where it is the id, or `~` and its id-free pieces where it holds the id.
 */
function spell(value: unknown, id: string, out: Spelling): void {
  switch (typeof value) {
    case 'string':
      if (value === id) {
        out.key += '*';
        out.ids += 1;
      } else if (value.includes(id)) {
        const pieces = value.split(id);
        out.key += `~${pieces.length}`;
        for (const piece of pieces) out.key += `=${piece.length}:${piece}`;
        out.ids += pieces.length - 1;
      } else {
        out.key += `=${value.length}:${value}`;
      }
      return;
    case 'number':
    case 'boolean':
      // -0 is spelled apart from 0: a double field encodes them differently.
      out.key += `${typeof value === 'number' ? '#' : '?'}${Object.is(value, -0) ? '-0' : String(value)};`;
      return;
    case 'undefined':
      out.key += 'u';
      return;
    case 'object':
      if (value === null) {
        out.key += 'n';
      } else if (Array.isArray(value)) {
        out.key += `[${value.length}`;
        for (const item of value) spell(item, id, out);
      } else {
        out.key += '{';
        for (const name in value) {
          out.key += `${name.length}:${name}`;
          spell((value as Record<string, unknown>)[name], id, out);
        }
        out.key += '}';
      }
      return;
    default:
      out.plain = false;
  }
}

function offsetsOf(bytes: Buffer, id: string): number[] {
  const offsets: number[] = [];
  for (let at = bytes.indexOf(id, 0, 'latin1'); at !== -1; at = bytes.indexOf(id, at + 1, 'latin1')) offsets.push(at);
  return offsets;
}

function withId(template: Template, id: string): Buffer {
  const out = Buffer.allocUnsafe(template.bytes.length);
  template.bytes.copy(out);
  for (const offset of template.idOffsets) out.write(id, offset, 'latin1');
  return out;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
