/**
 * Mutations of protobuf wire bytes. Byte-level ones (bit flips, inserts, deletes, truncation,
 * random varints) mostly test the decoder's bounds checks; tree-level ones (field splicing,
 * duplicated and dropped fields, replaced scalars) parse the message into fields, change them and
 * re-encode with correct lengths, so they reach the decision core with well-formed but strange
 * messages.
 */
import { randomText, type Random } from './random.js';

type WireType = 0 | 1 | 2 | 5;

/** One field as on the wire; a length-delimited payload that parses as a message also keeps its fields. */
interface Field {
  no: number;
  type: WireType;
  /** Varint value, or the raw bytes of fixed and length-delimited fields. */
  value: bigint | Uint8Array;
  children?: Field[];
}

function readVarint(bytes: Uint8Array, at: number): { value: bigint; next: number } | undefined {
  let value = 0n;
  let shift = 0n;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const byte = bytes[i]!;
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return { value, next: i + 1 };
    shift += 7n;
  }
  return undefined;
}

export function encodeVarint(value: bigint): Uint8Array {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Uint8Array.from(out);
}

/** The fields of `bytes`, or undefined when they are not exactly one well-formed message. */
function parse(bytes: Uint8Array, depth: number): Field[] | undefined {
  const fields: Field[] = [];
  let at = 0;
  while (at < bytes.length) {
    const tag = readVarint(bytes, at);
    if (!tag) return undefined;
    const no = Number(tag.value >> 3n);
    const type = Number(tag.value & 7n);
    if (no === 0) return undefined;
    at = tag.next;
    if (type === 0) {
      const v = readVarint(bytes, at);
      if (!v) return undefined;
      fields.push({ no, type, value: v.value });
      at = v.next;
    } else if (type === 1 || type === 5) {
      const size = type === 1 ? 8 : 4;
      if (at + size > bytes.length) return undefined;
      fields.push({ no, type, value: bytes.slice(at, at + size) });
      at += size;
    } else if (type === 2) {
      const len = readVarint(bytes, at);
      if (!len || len.next + Number(len.value) > bytes.length) return undefined;
      const payload = bytes.slice(len.next, len.next + Number(len.value));
      const children = depth < 12 && payload.length > 0 ? parse(payload, depth + 1) : undefined;
      fields.push({ no, type, value: payload, ...(children ? { children } : {}) });
      at = len.next + Number(len.value);
    } else {
      return undefined;
    }
  }
  return fields;
}

function serialize(fields: readonly Field[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const field of fields) {
    parts.push(encodeVarint((BigInt(field.no) << 3n) | BigInt(field.type)));
    if (field.type === 0) parts.push(encodeVarint(field.value as bigint));
    else if (field.type === 2) {
      const payload = field.children ? serialize(field.children) : (field.value as Uint8Array);
      parts.push(encodeVarint(BigInt(payload.length)), payload);
    } else parts.push(field.value as Uint8Array);
  }
  return concat(parts);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Every field of the tree, parents before children, with the list that holds it. */
function walk(fields: Field[], out: { list: Field[]; index: number }[] = []): { list: Field[]; index: number }[] {
  fields.forEach((field, index) => {
    out.push({ list: fields, index });
    if (field.children) walk(field.children, out);
  });
  return out;
}

function clone(fields: readonly Field[]): Field[] {
  return fields.map((f) => ({ ...f, ...(f.children ? { children: clone(f.children) } : {}) }));
}

const interestingVarints = [0n, 1n, 0x7fn, 0x80n, 0xffffffffn, 0x7fffffffn, 0x80000000n, (1n << 63n) - 1n, (1n << 64n) - 1n, 1n << 32n];

/** A field-level mutation of `seed`, using `donors` (other well-formed messages) for splicing. */
export function mutateTree(random: Random, seed: Uint8Array, donors: readonly Uint8Array[]): Uint8Array | undefined {
  const parsed = parse(seed, 0);
  if (!parsed || parsed.length === 0) return undefined;
  const fields = clone(parsed);
  const nodes = walk(fields);
  const target = random.pick(nodes);
  const field = target.list[target.index]!;
  switch (random.int(7)) {
    case 0: {
      // Splice: a field (subtree) from another message, under this field's number or its own.
      const donorFields = parse(random.pick(donors), 0);
      if (!donorFields || donorFields.length === 0) return undefined;
      const donor = random.pick(walk(donorFields));
      const graft = clone([donor.list[donor.index]!])[0]!;
      if (random.chance(0.5)) graft.no = field.no;
      target.list.splice(target.index, random.chance(0.5) ? 1 : 0, graft);
      break;
    }
    case 1:
      target.list.splice(target.index, 0, clone([field])[0]!);
      break;
    case 2:
      target.list.splice(target.index, 1);
      break;
    case 3:
      if (field.type === 0) field.value = random.chance(0.5) ? random.pick(interestingVarints) : BigInt.asUintN(64, BigInt(random.int(2 ** 31)) * BigInt(random.int(2 ** 31)));
      else {
        field.type = 0;
        field.value = random.pick(interestingVarints);
        delete field.children;
      }
      break;
    case 4:
      // A string or bytes field becomes hostile text (or raw bytes that are not UTF-8).
      delete field.children;
      field.type = 2;
      field.value = random.chance(0.7) ? new TextEncoder().encode(randomText(random, 64)) : random.bytes(random.int(32));
      break;
    case 5:
      field.no = random.chance(0.5) ? random.between(1, 20) : random.between(1, 2 ** 29 - 1);
      break;
    default:
      // Shuffle the order of siblings: protobuf says order must not matter.
      target.list.reverse();
  }
  return serialize(fields);
}

/** A byte-level mutation: bit flips, inserted, deleted or overwritten bytes, truncation, a random varint. */
export function mutateBytes(random: Random, seed: Uint8Array): Uint8Array {
  let out: Uint8Array = Uint8Array.from(seed);
  const edits = random.between(1, 4);
  for (let e = 0; e < edits; e++) {
    const at = random.int(out.length + 1);
    switch (random.int(6)) {
      case 0:
        if (out.length > 0) out[Math.min(at, out.length - 1)]! ^= 1 << random.int(8);
        break;
      case 1:
        out = concat([out.slice(0, at), random.bytes(random.between(1, 8)), out.slice(at)]);
        break;
      case 2:
        out = concat([out.slice(0, at), out.slice(at + random.between(1, 8))]);
        break;
      case 3:
        out = out.slice(0, at);
        break;
      case 4:
        out = concat([out.slice(0, at), encodeVarint(random.pick(interestingVarints)), out.slice(at)]);
        break;
      default:
        if (out.length > 0) out[Math.min(at, out.length - 1)] = random.pick([0x00, 0x08, 0x0a, 0x12, 0x7f, 0x80, 0xff]);
    }
  }
  return out;
}
