/**
 * Proves gatehouse's own .proto files speak Envoy's wire format: every vector encoded with
 * Envoy's real protos must decode to its index.json content and re-encode unchanged, and the
 * responses gatehouse builds must decode to what Envoy expects.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type protobuf from 'protobufjs';
import {
  CheckRequestType,
  CheckResponseType,
  authorizationService,
  decodeCheckRequest,
  decodeCheckResponse,
  encodeCheckRequest,
  encodeCheckResponse,
  toCanonicalJson,
  type MessageInput,
} from '../../src/wire/protos.js';
import { vectorDir } from '../support/server-process.js';

interface Vector {
  readonly file: string;
  readonly message: { [field: string]: unknown };
}

interface VectorIndex {
  readonly requests: { [name: string]: Vector };
  readonly responses: { [name: string]: Vector };
}

const index = JSON.parse(readFileSync(join(vectorDir, 'index.json'), 'utf8')) as VectorIndex;
const bytesOf = (vector: Vector): Buffer => readFileSync(join(vectorDir, vector.file));

interface Codec {
  readonly type: protobuf.Type;
  readonly decode: (bytes: Uint8Array) => protobuf.Message;
  readonly encode: (input: MessageInput) => Uint8Array;
  /** What grpc-js itself does with the bytes, through the service definition. */
  readonly grpcDeserialize: (bytes: Buffer) => unknown;
  readonly grpcSerialize: (value: unknown) => Buffer;
}

const check = authorizationService['Check'];
if (check === undefined) throw new Error('Authorization service has no Check method');

const requestCodec: Codec = {
  type: CheckRequestType,
  decode: decodeCheckRequest,
  encode: encodeCheckRequest,
  grpcDeserialize: check.requestDeserialize,
  grpcSerialize: check.requestSerialize,
};

const responseCodec: Codec = {
  type: CheckResponseType,
  decode: decodeCheckResponse,
  encode: encodeCheckResponse,
  grpcDeserialize: check.responseDeserialize,
  grpcSerialize: check.responseSerialize,
};

const canonical = (codec: Codec, bytes: Uint8Array) => toCanonicalJson(codec.type, codec.decode(bytes));

describe.each([
  ['CheckRequest', requestCodec, Object.entries(index.requests)],
  ['CheckResponse', responseCodec, Object.entries(index.responses)],
] as const)('Envoy %s vectors', (_kind, codec, vectors) => {
  test.each(vectors)('%s decodes to its index.json content', (_name, vector) => {
    expect(canonical(codec, bytesOf(vector))).toEqual(vector.message);
  });

  // Byte equality, not just equal content: a field our protos lack would be skipped on decode
  // and go missing here even if index.json had not listed it.
  test.each(vectors)('%s re-encodes byte for byte', (_name, vector) => {
    const bytes = bytesOf(vector);
    const reencoded = codec.encode(codec.decode(bytes));
    expect(Buffer.from(reencoded)).toEqual(bytes);
    expect(canonical(codec, reencoded)).toEqual(vector.message);
  });

  test.each(vectors)('%s survives the grpc-js serializers', (_name, vector) => {
    const bytes = bytesOf(vector);
    const reencoded = codec.grpcSerialize(codec.grpcDeserialize(bytes));
    expect(canonical(codec, reencoded)).toEqual(vector.message);
  });
});

// The server's own codec hands the handler protobufjs's messages instead: test/wire/server-codec.test.ts.
describe('what proto-loader makes of a request (gatehouse check, clients)', () => {
  const deserialize = (name: string) => {
    const vector = index.requests[name];
    if (vector === undefined) throw new Error(`no request vector ${name}`);
    return check.requestDeserialize(bytesOf(vector)) as {
      attributes: {
        source: { address: { address: string; socket_address: { port_value: number } } };
        request: { http: { size: string; raw_body: Buffer; header_map: { headers: { raw_value: Buffer }[] } } };
      };
    };
  };

  test('bytes arrive as Buffers, byte for byte', () => {
    expect(deserialize('bearer-post-body').attributes.request.http.raw_body).toEqual(Buffer.from('{"item":"apples"}'));
    const headers = deserialize('header-map-raw').attributes.request.http.header_map.headers;
    expect(headers[3]?.raw_value).toEqual(Buffer.from('acme'));
  });

  test('int64 arrives as a decimal string, uint32 as a number', () => {
    const { attributes } = deserialize('bearer-post-body');
    expect(attributes.request.http.size).toBe('17');
    expect(attributes.source.address.socket_address.port_value).toBe(40001);
  });

  test('oneofs name the member that was sent', () => {
    expect(deserialize('mtls-get').attributes.source.address.address).toBe('socket_address');
  });
});

interface Case {
  readonly name: string;
  readonly input: MessageInput;
  readonly expected: { [field: string]: unknown };
}

const requestCases: readonly Case[] = [
  {
    name: 'size -1 (unknown) keeps its sign',
    input: { attributes: { request: { http: { size: '-1' } } } },
    expected: { attributes: { request: { http: { size: '-1' } } } },
  },
  {
    name: 'int64 beyond 2^53 keeps every digit',
    input: { attributes: { request: { http: { size: '9223372036854775807' } } } },
    expected: { attributes: { request: { http: { size: '9223372036854775807' } } } },
  },
  {
    name: 'header bytes that are not UTF-8 survive in raw_value',
    input: {
      attributes: {
        request: { http: { header_map: { headers: [{ key: 'x-bin', raw_value: Buffer.from([0xff, 0x00, 0x80]) }] } } },
      },
    },
    expected: {
      attributes: { request: { http: { header_map: { headers: [{ key: 'x-bin', raw_value: '/wCA' }] } } } },
    },
  },
  {
    name: 'unix socket and internal listener peers keep their address kind',
    input: {
      attributes: {
        source: { address: { pipe: { path: '/run/envoy.sock', mode: 0o600 } } },
        destination: { address: { envoy_internal_address: { server_listener_name: 'waypoint', endpoint_id: 'e1' } } },
      },
    },
    expected: {
      attributes: {
        source: { address: { pipe: { path: '/run/envoy.sock', mode: 384 } } },
        destination: { address: { envoy_internal_address: { server_listener_name: 'waypoint', endpoint_id: 'e1' } } },
      },
    },
  },
];

const decisionId = '01J9Z6X4QK3T7N2V5B8C0D1E2F';

const responseCases: readonly Case[] = [
  {
    name: 'allow with request and response headers, query edits and dynamic metadata',
    input: {
      status: { code: 0 },
      ok_response: {
        headers: [
          { header: { key: 'x-gatehouse-principal', value: 'spiffe://cluster.local/ns/shop/sa/frontend' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
          { header: { key: 'x-gatehouse-decision-id', value: decisionId }, append_action: 2 },
        ],
        headers_to_remove: ['authorization'],
        response_headers_to_add: [{ header: { key: 'x-gatehouse-decision-id', value: decisionId } }],
        query_parameters_to_set: [{ key: 'tenant', value: 'acme' }],
        query_parameters_to_remove: ['debug'],
      },
      dynamic_metadata: {
        fields: {
          principal: { string_value: 'spiffe://cluster.local/ns/shop/sa/frontend' },
          policies: { list_value: { values: [{ string_value: 'allow-frontend' }] } },
          cached: { bool_value: false },
        },
      },
    },
    expected: {
      status: { code: 0 },
      ok_response: {
        headers: [
          { header: { key: 'x-gatehouse-principal', value: 'spiffe://cluster.local/ns/shop/sa/frontend' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
          { header: { key: 'x-gatehouse-decision-id', value: decisionId }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
        ],
        headers_to_remove: ['authorization'],
        response_headers_to_add: [{ header: { key: 'x-gatehouse-decision-id', value: decisionId } }],
        query_parameters_to_set: [{ key: 'tenant', value: 'acme' }],
        query_parameters_to_remove: ['debug'],
      },
      dynamic_metadata: {
        fields: {
          principal: { string_value: 'spiffe://cluster.local/ns/shop/sa/frontend' },
          policies: { list_value: { values: [{ string_value: 'allow-frontend' }] } },
          cached: { bool_value: false },
        },
      },
    },
  },
  {
    name: 'Struct values keep their kind under .proto names (protobufjs#1397)',
    input: {
      dynamic_metadata: {
        fields: {
          s: { string_value: 'x' },
          n: { number_value: 1.5 },
          b: { bool_value: true },
          z: { null_value: 'NULL_VALUE' },
          o: { struct_value: { fields: { inner: { string_value: 'y' } } } },
          l: { list_value: { values: [{ number_value: 0 }, { bool_value: false }] } },
        },
      },
    },
    expected: {
      dynamic_metadata: {
        fields: {
          s: { string_value: 'x' },
          n: { number_value: 1.5 },
          b: { bool_value: true },
          z: { null_value: 'NULL_VALUE' },
          o: { struct_value: { fields: { inner: { string_value: 'y' } } } },
          l: { list_value: { values: [{ number_value: 0 }, { bool_value: false }] } },
        },
      },
    },
  },
  {
    name: 'deny 403 with a JSON body',
    input: {
      status: { code: 7, message: 'denied by policy' },
      denied_response: {
        status: { code: 'Forbidden' },
        headers: [{ header: { key: 'content-type', value: 'application/json' } }],
        body: '{"decision":"deny"}',
      },
    },
    expected: {
      status: { code: 7, message: 'denied by policy' },
      denied_response: {
        status: { code: 'Forbidden' },
        headers: [{ header: { key: 'content-type', value: 'application/json' } }],
        body: '{"decision":"deny"}',
      },
    },
  },
  {
    name: 'deny 401 with a challenge',
    input: {
      status: { code: 16, message: 'invalid credential' },
      denied_response: {
        status: { code: 401 },
        headers: [{ header: { key: 'www-authenticate', value: 'Bearer realm="gatehouse", error="invalid_token"' } }],
      },
    },
    expected: {
      status: { code: 16, message: 'invalid credential' },
      denied_response: {
        status: { code: 'Unauthorized' },
        headers: [{ header: { key: 'www-authenticate', value: 'Bearer realm="gatehouse", error="invalid_token"' } }],
      },
    },
  },
  {
    name: 'our own failure as error_response 503',
    input: {
      status: { code: 14, message: 'policy set unavailable' },
      error_response: { status: { code: 'ServiceUnavailable' }, body: 'authorization unavailable' },
    },
    expected: {
      status: { code: 14, message: 'policy set unavailable' },
      error_response: { status: { code: 'ServiceUnavailable' }, body: 'authorization unavailable' },
    },
  },
];

describe.each([
  ['CheckRequest', requestCodec, requestCases],
  ['CheckResponse', responseCodec, responseCases],
] as const)('gatehouse-built %s', (_kind, codec, cases) => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const encoded = codec.encode(c.input);
    expect(canonical(codec, encoded)).toEqual(c.expected);
    // The handler's objects go out through grpc-js, not our helper: both must agree.
    expect(codec.grpcSerialize(c.input)).toEqual(Buffer.from(encoded));
  });
});

describe('gatehouse-built responses match the Envoy vectors', () => {
  // The same content as each response vector, written as a handler would: it must produce
  // exactly the bytes Envoy's own protos produced.
  test.each(Object.entries(index.responses))('%s', (_name, vector) => {
    expect(Buffer.from(encodeCheckResponse(vector.message))).toEqual(bytesOf(vector));
  });
});
