import { LRUCache } from 'lru-cache';

/** The bytes of one CheckResponse (protobufjs's `encode(message).finish()`). */
export type Encode = (message: { readonly [field: string]: unknown }) => Uint8Array;

/** What a decision id looks like: a ULID, 26 ASCII characters (pipeline/decision-id.ts). */
const decisionIdForm = /^[0-9A-HJKMNP-TV-Z]{26}$/;
/** The id a new template is tried with before it is kept: of the id's form, unlike any ULID a clock makes now. */
const probeId = 'ZZZZZZZZZZZZZZZZZZZZZZZZZZ';
/** Bytes the templates and their keys may hold together. */
const maxTemplateBytes = 4 * 1024 * 1024;
/** A response whose key is longer than this (a principal of many kilobytes) is encoded as it is, each time. */
const maxKeyLength = 32 * 1024;

/** A response's bytes with the decision id's places in them. */
interface Template {
  readonly bytes: Buffer;
  readonly idOffsets: readonly number[];
}

/**
 * CheckResponses encoded once per kind of answer. Every Check's response differs from the last
 * one of the same decision only by its decision id (a header, the metadata, a deny's body), and
 * encoding it field by field was a large share of gatehouse's own work on a repeated gRPC Check.
 * So the bytes are remembered by everything in the message but the id, and each new id is
 * written into a copy.
 *
 * Exact for the plain data core/respond.ts makes (objects and arrays of strings, numbers and
 * booleans; anything else is encoded as it is). The key spells every own field (names, order,
 * values) with each string that is or holds the id marked, so two messages share a key only if
 * each is the other with its id in the other's place; an id in a field name is refused. Before a
 * template is kept, the id is found in its bytes exactly as often as in the fields, and the
 * message with another id in those places must encode to the template with that id written in.
 * A template is made the second time its key is seen: a caller seen once (cache-miss traffic)
 * costs the key and nothing more.
 */
export class CheckResponseEncoder {
  private readonly templates = new LRUCache<string, Template>({
    maxSize: maxTemplateBytes,
    sizeCalculation: (template, key) => template.bytes.length + 2 * key.length,
  });
  private readonly seenOnce: LRUCache<string, true>;

  constructor(
    private readonly encode: Encode,
    maxKinds = 1000,
  ) {
    this.seenOnce = new LRUCache({ max: maxKinds, maxSize: maxTemplateBytes, sizeCalculation: (_, key) => 2 * key.length });
  }

  encodeResponse(message: { readonly [field: string]: unknown }): Buffer {
    const id = decisionIdOf(message);
    if (id === undefined) return asBuffer(this.encode(message));
    const spelled: Spelling = { key: '', ids: 0, plain: true };
    spell(message, id, spelled);
    if (!spelled.plain || spelled.key.length > maxKeyLength) return asBuffer(this.encode(message));
    const template = this.templates.get(spelled.key);
    if (template !== undefined) return withId(template, id);
    const bytes = asBuffer(this.encode(message));
    if (this.seenOnce.get(spelled.key) === undefined) {
      this.seenOnce.set(spelled.key, true);
      return bytes;
    }
    this.seenOnce.delete(spelled.key);
    const made = this.templateOf(message, bytes, id, spelled.ids);
    if (made !== undefined) this.templates.set(spelled.key, made);
    return bytes;
  }

  private templateOf(message: { readonly [field: string]: unknown }, bytes: Buffer, id: string, ids: number): Template | undefined {
    const idOffsets = offsetsOf(bytes, id);
    if (idOffsets.length !== ids || id === probeId) return undefined;
    const template = { bytes: Buffer.from(bytes), idOffsets };
    const probed = asBuffer(this.encode(withOtherId(message, id, probeId) as { readonly [field: string]: unknown }));
    return probed.equals(withId(template, probeId)) ? template : undefined;
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
  /** False once something other than plain data was met: such a message is encoded as it is. */
  plain: boolean;
}

/** An object literal or an array: what protobufjs reads field by field, own properties only. */
function isPlainContainer(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === Array.prototype;
}

/**
 * Appends an unambiguous spelling of `value` with `id` marked: each string is `=` and its length
 * before its text, or `*` where it is the id, or `~` and its id-free pieces where it holds the id.
 */
function spell(value: unknown, id: string, out: Spelling): void {
  if (!out.plain) return;
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
      } else if (!isPlainContainer(value)) {
        out.plain = false;
      } else if (Array.isArray(value)) {
        out.key += `[${value.length}`;
        for (let i = 0; i < value.length; i++) spell(value[i], id, out);
      } else {
        out.key += '{';
        for (const name of Object.keys(value)) {
          if (name.includes(id)) out.plain = false;
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

/** The message with `other` wherever a string is or holds `id` (plain data, as spell() accepted it). */
function withOtherId(value: unknown, id: string, other: string): unknown {
  if (typeof value === 'string') return value.includes(id) ? value.split(id).join(other) : value;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => withOtherId(item, id, other));
  const copy: Record<string, unknown> = {};
  for (const name of Object.keys(value)) copy[name] = withOtherId((value as Record<string, unknown>)[name], id, other);
  return copy;
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
