import protobuf from 'protobufjs';
import { ErrorCode, GatehouseError } from '../errors.js';

/**
 * Proto3 JSON (what Envoy's access logs, grpcurl and `gatehouse call` print: lowerCamelCase or
 * original field names, Timestamps as RFC 3339, Structs as plain JSON) ↔ the plain objects
 * protobufjs and grpc-js use (original field names). Directed by the message type, so map keys
 * such as header names are never renamed.
 */
export function fromProto3Json(type: protobuf.Type, json: unknown, path = type.name): Record<string, unknown> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new GatehouseError(ErrorCode.badRequest, `${path}: expected a JSON object`);
  }
  const byJsonName = new Map<string, protobuf.Field>();
  for (const field of type.fieldsArray) {
    byJsonName.set(field.name, field);
    byJsonName.set(protobuf.util.camelCase(field.name), field);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const field = byJsonName.get(key);
    if (!field) throw new GatehouseError(ErrorCode.badRequest, `${path}: unknown field ${JSON.stringify(key)}`);
    if (value === null) continue;
    field.resolve();
    const at = `${path}.${key}`;
    if (field.map) {
      if (typeof value !== 'object' || Array.isArray(value)) throw new GatehouseError(ErrorCode.badRequest, `${at}: expected a JSON object`);
      out[field.name] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromValue(field, v, `${at}.${k}`)]));
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw new GatehouseError(ErrorCode.badRequest, `${at}: expected a JSON array`);
      out[field.name] = value.map((v, i) => fromValue(field, v, `${at}[${i}]`));
    } else {
      out[field.name] = fromValue(field, value, at);
    }
  }
  return out;
}

function fromValue(field: protobuf.Field, value: unknown, path: string): unknown {
  const resolved = field.resolvedType;
  if (!(resolved instanceof protobuf.Type)) return value;
  switch (resolved.fullName) {
    case '.google.protobuf.Timestamp': {
      if (typeof value !== 'string') return value;
      const ms = Date.parse(value);
      if (Number.isNaN(ms)) throw new GatehouseError(ErrorCode.badRequest, `${path}: not an RFC 3339 timestamp`);
      const fraction = /\.(\d{1,9})/.exec(value)?.[1] ?? '';
      return { seconds: String(Math.floor(ms / 1000)), nanos: Number(fraction.padEnd(9, '0')) };
    }
    case '.google.protobuf.Struct':
      return toStruct(value);
    case '.google.protobuf.Value':
      return toStructValue(value);
    case '.google.protobuf.BoolValue':
    case '.google.protobuf.UInt32Value':
    case '.google.protobuf.StringValue':
      return { value };
    default:
      return fromProto3Json(resolved, value, path);
  }
}

function toStruct(value: unknown): { fields: Record<string, unknown> } {
  const fields: Record<string, unknown> = {};
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) fields[k] = toStructValue(v);
  }
  return { fields };
}

function toStructValue(value: unknown): Record<string, unknown> {
  if (value === null) return { null_value: 'NULL_VALUE' };
  if (typeof value === 'number') return { number_value: value };
  if (typeof value === 'string') return { string_value: value };
  if (typeof value === 'boolean') return { bool_value: value };
  if (Array.isArray(value)) return { list_value: { values: value.map(toStructValue) } };
  return { struct_value: toStruct(value) };
}

/** A decoded message → proto3 JSON with lowerCamelCase names, for people and access-log tools. */
export function toProto3Json(type: protobuf.Type, message: protobuf.Message | Record<string, unknown>): Record<string, unknown> {
  const plain = message instanceof protobuf.Message ? type.toObject(message, { longs: String, enums: String, bytes: String }) : message;
  return camelize(type, plain);
}

function camelize(type: protobuf.Type, plain: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const value = plain[field.name];
    if (value === undefined || value === null) continue;
    field.resolve();
    const name = protobuf.util.camelCase(field.name);
    const convert = (v: unknown): unknown => toJsonValue(field, v);
    if (field.map) out[name] = Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, convert(v)]));
    else if (field.repeated) out[name] = (value as unknown[]).map(convert);
    else out[name] = convert(value);
  }
  return out;
}

function toJsonValue(field: protobuf.Field, value: unknown): unknown {
  const resolved = field.resolvedType;
  if (!(resolved instanceof protobuf.Type)) return value;
  switch (resolved.fullName) {
    case '.google.protobuf.Timestamp': {
      const ts = value as { seconds?: string | number; nanos?: number };
      return new Date(Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
    }
    case '.google.protobuf.Struct':
      return fromStruct(value as { fields?: Record<string, unknown> });
    case '.google.protobuf.BoolValue':
    case '.google.protobuf.UInt32Value':
    case '.google.protobuf.StringValue':
      return (value as { value?: unknown }).value;
    default:
      return camelize(resolved, value as Record<string, unknown>);
  }
}

function fromStruct(struct: { fields?: Record<string, unknown> }): Record<string, unknown> {
  return Object.fromEntries(Object.entries(struct.fields ?? {}).map(([k, v]) => [k, fromStructValue(v as Record<string, unknown>)]));
}

function fromStructValue(value: Record<string, unknown>): unknown {
  if ('string_value' in value) return value.string_value;
  if ('number_value' in value) return value.number_value;
  if ('bool_value' in value) return value.bool_value;
  if ('list_value' in value) return ((value.list_value as { values?: Record<string, unknown>[] }).values ?? []).map(fromStructValue);
  if ('struct_value' in value) return fromStruct(value.struct_value as { fields?: Record<string, unknown> });
  return null;
}
