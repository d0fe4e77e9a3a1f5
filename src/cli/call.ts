import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { authorizationService, CheckRequestType, CheckResponseType } from '../wire/protos.js';
import { fromProto3Json, toProto3Json } from '../wire/proto-json.js';
import { ErrorCode, GatehouseError } from '../errors.js';
import { describeResponse } from './call-response.js';
import { usage, type CommandResult } from './command.js';

const help = `gatehouse call [--target HOST:PORT] [--request FILE | flags] [--json] [--timeout MS] [--print-request]
  builds a CheckRequest and sends it to a running gatehouse, printing the response
  --principal SPIFFE_ID   source.principal (as Envoy sets it from the peer certificate)
  --method M --path P --host H --scheme S
  --header 'name: value'  repeatable
  --token T               sends 'authorization: Bearer T'
  --service NAME          context_extensions.service
  --source-ip ADDR        source.address (the peer address Envoy reports; default 127.0.0.1)
  --request FILE          a CheckRequest in proto3 JSON (Envoy's form); flags are then not used
  --print-request         print the CheckRequest in proto3 JSON (what 'gatehouse check --request'
                          reads) and exit 0 without contacting a server
  a deny prints the reason code the server put in dynamic_metadata ('code')
exit 0 allowed (or --print-request), 1 denied, 2 error`;

const ClientCtor = grpc.makeGenericClientConstructor(authorizationService, 'Authorization');

export async function call(argv: string[]): Promise<CommandResult> {
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: 'string', default: '127.0.0.1:9191' },
      request: { type: 'string' },
      principal: { type: 'string' },
      method: { type: 'string', default: 'GET' },
      path: { type: 'string', default: '/' },
      host: { type: 'string', default: 'localhost' },
      scheme: { type: 'string', default: 'http' },
      header: { type: 'string', multiple: true, default: [] },
      token: { type: 'string' },
      service: { type: 'string' },
      'source-ip': { type: 'string', default: '127.0.0.1' },
      'print-request': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '5000' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return usage(help, 0);
  if (isIP(values['source-ip']) === 0) throw new GatehouseError(ErrorCode.badRequest, `--source-ip ${JSON.stringify(values['source-ip'])}: not an IP address`);
  const request = values.request !== undefined ? requestFromFile(values.request) : requestFromFlags({ ...values, sourceIp: values['source-ip'] });
  if (values['print-request']) return { code: 0, out: `${JSON.stringify(toProto3Json(CheckRequestType, request), null, 2)}\n` };
  const client = new ClientCtor(values.target, grpc.credentials.createInsecure());
  try {
    const response = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const deadline = Date.now() + Number(values.timeout);
      client.makeUnaryRequest(
        '/envoy.service.auth.v3.Authorization/Check',
        (arg: Record<string, unknown>) => Buffer.from(CheckRequestType.encode(CheckRequestType.fromObject(arg)).finish()),
        (buf: Buffer) => CheckResponseType.toObject(CheckResponseType.decode(buf), { longs: String, enums: String, bytes: String }),
        request,
        { deadline },
        (err: grpc.ServiceError | null, value?: Record<string, unknown>) => (err ? reject(err) : resolve(value ?? {})),
      );
    });
    return describeResponse(response, values.json);
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { code: 2, err: `gatehouse call: ${values.target}: ${e.details || e.message}\n` };
  } finally {
    client.close();
  }
}

function requestFromFile(file: string): Record<string, unknown> {
  return fromProto3Json(CheckRequestType, JSON.parse(readFileSync(file, 'utf8')));
}

function requestFromFlags(values: {
  principal?: string; method: string; path: string; host: string; scheme: string; header: string[]; token?: string; service?: string; sourceIp: string;
}): Record<string, unknown> {
  const headers: Record<string, string> = { ':authority': values.host, ':method': values.method, ':path': values.path, ':scheme': values.scheme };
  for (const line of values.header) {
    const colon = line.indexOf(':', 1);
    if (colon < 0) throw new Error(`--header ${JSON.stringify(line)}: expected 'name: value'`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  if (values.token !== undefined) headers.authorization = `Bearer ${values.token}`;
  return {
    attributes: {
      source: { principal: values.principal ?? '', address: { socket_address: { address: values.sourceIp, port_value: 0 } } },
      request: { http: { id: '1', method: values.method, path: values.path, host: values.host, scheme: values.scheme, headers, protocol: 'HTTP/1.1' } },
      context_extensions: values.service === undefined ? {} : { service: values.service },
    },
  };
}
