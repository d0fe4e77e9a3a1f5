import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { authorizationService, CheckRequestType, CheckResponseType } from '../transport/protos.js';
import { fromProto3Json, toProto3Json } from '../transport/proto-json.js';
import { usage, type CommandResult } from './command.js';

const help = `gatehouse call [--target HOST:PORT] [--request FILE | flags] [--json] [--timeout MS]
  builds a CheckRequest and sends it to a running gatehouse, printing the response
  --principal SPIFFE_ID   source.principal (as Envoy sets it from the peer certificate)
  --method M --path P --host H --scheme S
  --header 'name: value'  repeatable
  --token T               sends 'authorization: Bearer T'
  --service NAME          context_extensions.service
  --request FILE          a CheckRequest in proto3 JSON (Envoy's form); flags are then not used
exit 0 allowed, 1 denied, 2 error`;

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
      json: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '5000' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return usage(help, 0);
  const request = values.request !== undefined ? requestFromFile(values.request) : requestFromFlags(values);
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
    return { code: printResponse(response, values.json), out: '' };
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
  principal?: string; method: string; path: string; host: string; scheme: string; header: string[]; token?: string; service?: string;
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
      source: { principal: values.principal ?? '', address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
      request: { http: { id: '1', method: values.method, path: values.path, host: values.host, scheme: values.scheme, headers, protocol: 'HTTP/1.1' } },
      context_extensions: values.service === undefined ? {} : { service: values.service },
    },
  };
}

/** Prints the response for a person (or as proto3 JSON) and returns the exit code. */
function printResponse(response: Record<string, unknown>, json: boolean): number {
  const status = response.status as { code?: number; message?: string } | undefined;
  const code = status?.code ?? 0;
  if (json) {
    process.stdout.write(`${JSON.stringify(toProto3Json(CheckResponseType, response), null, 2)}\n`);
  } else {
    const verdict = code === 0 ? 'ALLOW' : code === 14 ? 'ERROR' : 'DENY';
    const lines = [`${verdict}  grpc-status ${code} (${grpc.status[code] ?? 'UNKNOWN'})${status?.message ? `: ${status.message}` : ''}`];
    const http = (response.ok_response ?? response.denied_response ?? response.error_response) as
      | { status?: { code?: string }; headers?: { header?: { key?: string; value?: string }; append_action?: string }[]; headers_to_remove?: string[]; body?: string }
      | undefined;
    if (http?.status?.code) lines.push(`  http status: ${http.status.code}`);
    for (const h of http?.headers ?? []) lines.push(`  header ${h.header?.key}: ${h.header?.value}${h.append_action ? `  (${h.append_action})` : ''}`);
    for (const name of http?.headers_to_remove ?? []) lines.push(`  remove header ${name}`);
    if (http?.body) lines.push(`  body: ${http.body}`);
    if (response.dynamic_metadata) lines.push(`  dynamic metadata: ${JSON.stringify(toProto3Json(CheckResponseType, { dynamic_metadata: response.dynamic_metadata }).dynamicMetadata)}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (code === 0) return 0;
  return code === 14 ? 2 : 1;
}
