/**
 * The wire contract with Envoy: gatehouse's own .proto files under `proto/`, loaded once.
 * grpc-js serves with the service definitions; the protobufjs types let the CLI, tests and
 * benchmarks encode and decode the same messages without a server.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { ErrorCode, GatehouseError } from '../errors.js';
import { ResponseEncoder } from './response-template.js';

const ENTRY_FILES = ['envoy/service/auth/v3/external_auth.proto', 'grpc/health/v1/health.proto'];

/**
 * What grpc-js hands the handlers, with the .proto field names (the files are parsed with
 * keepCase). int64 as decimal strings and enums by name lose nothing; bytes stay Buffers so raw
 * headers and bodies arrive byte for byte; defaults are off so "absent" stays distinguishable
 * from "empty"; oneofs also name the member that was sent.
 */
const LOADER_OPTIONS: protoLoader.Options = {
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
};

/** The form of vectors/ext_authz/index.json: plain JSON, nothing filled in that was not sent. */
const CANONICAL_OPTIONS: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  bytes: String,
  defaults: false,
  oneofs: false,
};

/** Walks up because this module runs both from src/transport (ts-jest) and dist/src/transport. */
function findProtoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'envoy'))) return candidate;
    if (dirname(dir) === dir) {
      throw new GatehouseError(ErrorCode.internal, `no proto/envoy directory in ${start} or above it`);
    }
  }
}

const protoRoot = findProtoRoot(dirname(fileURLToPath(import.meta.url)));

/**
 * protobufjs bundles google/protobuf/struct.proto with camelCase Value fields (stringValue, …)
 * whatever keepCase says (protobufjs/protobuf.js#1397), so a `string_value` written by a handler,
 * like every other field here under its .proto name, would be dropped without an error and reach
 * Envoy as an empty Value. Defining Struct ourselves, under the .proto names and numbers, and
 * marking the file loaded keeps the bundled copy out.
 */
const STRUCT_FILE = 'google/protobuf/struct.proto';
const STRUCT_FIELDS: protobuf.IMapField = { keyType: 'string', type: 'Value', id: 1 };
const STRUCT_WITH_PROTO_NAMES: protobuf.INamespace = {
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Struct: { fields: { fields: STRUCT_FIELDS } },
            Value: {
              oneofs: {
                kind: { oneof: ['null_value', 'number_value', 'string_value', 'bool_value', 'struct_value', 'list_value'] },
              },
              fields: {
                null_value: { type: 'NullValue', id: 1 },
                number_value: { type: 'double', id: 2 },
                string_value: { type: 'string', id: 3 },
                bool_value: { type: 'bool', id: 4 },
                struct_value: { type: 'Struct', id: 5 },
                list_value: { type: 'ListValue', id: 6 },
              },
            },
            NullValue: { values: { NULL_VALUE: 0 } },
            ListValue: { fields: { values: { rule: 'repeated', type: 'Value', id: 1 } } },
          },
        },
      },
    },
  },
};

function loadRoot(): protobuf.Root {
  const root = protobuf.Root.fromJSON(STRUCT_WITH_PROTO_NAMES);
  root.files.push(STRUCT_FILE);
  // The other google/protobuf/* imports never reach resolvePath: protobufjs serves its bundled
  // copies, whose field names already match the .proto files.
  root.resolvePath = (_origin, target) => join(protoRoot, target);
  root.loadSync(ENTRY_FILES, { keepCase: true });
  root.resolveAll();
  return root;
}

/** One parse serves grpc-js and the helpers below, so the two can never disagree. */
const root = loadRoot();

export const packageDefinition: protoLoader.PackageDefinition = protoLoader.fromJSON(root.toJSON(), LOADER_OPTIONS);

function service(name: string): ServiceDefinition {
  const definition = packageDefinition[name];
  if (definition === undefined || 'format' in definition) {
    throw new GatehouseError(ErrorCode.internal, `${name} is not a service in ${protoRoot}`);
  }
  return definition;
}

/** `/envoy.service.auth.v3.Authorization/Check`. */
export const authorizationService = service('envoy.service.auth.v3.Authorization');
/** `/grpc.health.v1.Health/Check` and `/Watch`. */
export const healthService = service('grpc.health.v1.Health');

export const CheckRequestType = root.lookupType('envoy.service.auth.v3.CheckRequest');
export const CheckResponseType = root.lookupType('envoy.service.auth.v3.CheckResponse');

const check = authorizationService['Check'];
if (check === undefined) throw new GatehouseError(ErrorCode.internal, `envoy.service.auth.v3.Authorization in ${protoRoot} has no Check`);

/**
 * The Authorization service as gatehouse's server runs it: the same method, without
 * proto-loader's conversions. proto-loader copies every decoded request into a plain object
 * (`toObject`) and rebuilds every response as a message (`fromObject`) before encoding it, which
 * for a Check adds a third to a half to the CPU of the decoding and encoding themselves
 * (`bench/wire-micro.ts`). Here the handler gets protobufjs's decoded message (the same fields
 * under the same names, absent ones at their proto3 defaults; int64 as `Long` and enums by
 * number, neither of which the server reads), and the response it returns is encoded as it is:
 * it must be in protobufjs's form, enums by number.
 * The decoded request is read only by `requestFacts`: never serialize or log it (JSON.stringify,
 * toJSON, toObject), which throws on some messages protobufjs accepts, e.g. a Struct entry
 * without a value. Log the facts instead.
 * Clients (`gatehouse call`, tests) keep proto-loader's codec through `authorizationService`.
 */
const responses = new ResponseEncoder(CheckResponseType);
export const authorizationServerService: ServiceDefinition = {
  Check: {
    ...check,
    requestDeserialize: (bytes: Buffer): protobuf.Message => CheckRequestType.decode(bytes),
    // An allow like one answered before is a copy of its bytes with its own decision id (response-template.ts).
    responseSerialize: (message: { readonly [field: string]: unknown }): Buffer => responses.encode(message) as Buffer,
  },
};

/** A message or a plain object in the grpc-js shape (snake_case, enums by name or number). */
export type MessageInput = protobuf.Message | { readonly [field: string]: unknown };

function encode(type: protobuf.Type, input: MessageInput): Uint8Array {
  // fromObject returns a message of this type unchanged and converts anything else by field name.
  return type.encode(type.fromObject(input)).finish();
}

export function decodeCheckRequest(bytes: Uint8Array): protobuf.Message {
  return CheckRequestType.decode(bytes);
}

export function encodeCheckRequest(input: MessageInput): Uint8Array {
  return encode(CheckRequestType, input);
}

export function decodeCheckResponse(bytes: Uint8Array): protobuf.Message {
  return CheckResponseType.decode(bytes);
}

export function encodeCheckResponse(input: MessageInput): Uint8Array {
  return encode(CheckResponseType, input);
}

/**
 * The index.json form: .proto field names, int64 as decimal strings, enums by name, bytes as
 * base64, only fields that were on the wire. A proto3 default sent explicitly (e.g. status code 0)
 * stays, as Envoy's vectors expect; map entries keep wire order.
 */
export function toCanonicalJson(type: protobuf.Type, message: protobuf.Message): { [field: string]: unknown } {
  return type.toObject(message, CANONICAL_OPTIONS);
}
