/**
 * A local OTLP/HTTP collector for tests: it decodes the protobuf requests gatehouse's exporters
 * send with the opentelemetry-proto definitions (test/fixtures/otlp), as a real collector would,
 * and keeps the log records and spans as plain values. It can also misbehave the ways a real
 * collector does: answer 500, or take requests and never answer.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { projectRoot } from './server-process.js';

const protoDir = join(projectRoot, 'test', 'fixtures', 'otlp');

function loadRoot(keepCase = true): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(protoDir, target);
  root.loadSync(['opentelemetry/proto/collector/logs/v1/logs_service.proto', 'opentelemetry/proto/collector/trace/v1/trace_service.proto'], { keepCase });
  return root;
}

const root = loadRoot();
/** The same definitions with the JSON names (camelCase), for OTLP/JSON as a collector's file exporter writes it. */
const jsonRoot = loadRoot(false);
const logsRequest = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
const traceRequest = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
const logsResponse = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');
const traceResponse = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
const jsonLogsRequest = jsonRoot.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');

/** An OTLP AnyValue as a plain value: kvlists become objects, arrays arrays, int64 numbers. */
export type Plain = string | number | boolean | null | Plain[] | { [key: string]: Plain };

export interface ReceivedLogRecord {
  readonly resource: Record<string, Plain>;
  readonly scope: string;
  readonly timeUnixNano: bigint;
  readonly severityNumber: number;
  readonly severityText: string;
  readonly body: Plain;
  readonly attributes: Record<string, Plain>;
  /** Lower-case hex; '' when the record carries none. */
  readonly traceId: string;
  readonly spanId: string;
}

export interface ReceivedSpan {
  readonly resource: Record<string, Plain>;
  readonly name: string;
  readonly kind: number;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly traceState: string;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly attributes: Record<string, Plain>;
  readonly events: readonly { name: string; attributes: Record<string, Plain> }[];
  readonly status: { code: number; message: string };
}

/** `ok` answers 200 with an empty response; `fail` answers 500; `hang` reads the request and never answers. */
export type ReceiverMode = 'ok' | 'fail' | 'hang';

export class OtlpReceiver {
  readonly logs: ReceivedLogRecord[] = [];
  readonly spans: ReceivedSpan[] = [];
  /**
   * Each logs request as one line of OTLP/JSON (int64 as strings, empty fields left out; ids in
   * base64 rather than OTLP's hex, which no test reads), as the collector's file exporter writes.
   */
  readonly logsJson: string[] = [];
  /** Requests per path, whatever the mode. */
  readonly requests = new Map<string, number>();
  /** What failed to decode: there should be nothing. */
  readonly problems: string[] = [];
  mode: ReceiverMode = 'ok';
  private readonly hanging = new Set<ServerResponse>();

  private constructor(private readonly server: Server) {}

  static async start(mode: ReceiverMode = 'ok'): Promise<OtlpReceiver> {
    const server = createServer();
    const receiver = new OtlpReceiver(server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void receiver.handle(req, res));
    receiver.mode = mode;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '';
    this.requests.set(path, (this.requests.get(path) ?? 0) + 1);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (this.mode === 'hang') {
      this.hanging.add(res);
      return;
    }
    if (this.mode === 'fail') {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('collector failing on purpose');
      return;
    }
    const raw = Buffer.concat(chunks);
    const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
    try {
      if (req.headers['content-type'] !== 'application/x-protobuf') throw new Error(`content-type ${req.headers['content-type']}`);
      if (path === '/v1/logs') {
        this.logs.push(...decodeLogs(body));
        this.logsJson.push(JSON.stringify(jsonLogsRequest.toObject(jsonLogsRequest.decode(body), { longs: String, enums: Number, bytes: String })));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(logsResponse.encode(logsResponse.create({})).finish());
      } else if (path === '/v1/traces') {
        this.spans.push(...decodeSpans(body));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(traceResponse.encode(traceResponse.create({})).finish());
      } else {
        res.writeHead(404).end();
      }
    } catch (err) {
      this.problems.push(`${path}: ${(err as Error).message}`);
      res.writeHead(400).end();
    }
  }
}

interface KeyValue {
  key: string;
  value?: AnyValue;
}

/** The .proto field names (keepCase); protobufjs leaves out the members of a oneof that are not set. */
interface AnyValue {
  string_value?: string;
  bool_value?: boolean;
  int_value?: string;
  double_value?: number;
  array_value?: { values?: AnyValue[] };
  kvlist_value?: { values?: KeyValue[] };
  bytes_value?: Uint8Array;
}

const toObjectOptions: protobuf.IConversionOptions = { longs: String, defaults: false, oneofs: false, arrays: true };

function decodeLogs(body: Buffer): ReceivedLogRecord[] {
  const request = logsRequest.toObject(logsRequest.decode(body), toObjectOptions) as {
    resource_logs: { resource?: { attributes: KeyValue[] }; scope_logs: { scope?: { name: string }; log_records: RawLogRecord[] }[] }[];
  };
  return request.resource_logs.flatMap((rl) =>
    rl.scope_logs.flatMap((sl) =>
      sl.log_records.map((r) => ({
        resource: attributes(rl.resource?.attributes),
        scope: sl.scope?.name ?? '',
        timeUnixNano: BigInt(r.time_unix_nano ?? 0),
        severityNumber: r.severity_number ?? 0,
        severityText: r.severity_text ?? '',
        body: r.body ? plain(r.body) : null,
        attributes: attributes(r.attributes),
        traceId: hex(r.trace_id),
        spanId: hex(r.span_id),
      })),
    ),
  );
}

interface RawLogRecord {
  time_unix_nano?: string;
  severity_number?: number;
  severity_text?: string;
  body?: AnyValue;
  attributes: KeyValue[];
  trace_id?: Uint8Array;
  span_id?: Uint8Array;
}

interface RawSpan {
  name?: string;
  kind?: number;
  trace_id?: Uint8Array;
  span_id?: Uint8Array;
  parent_span_id?: Uint8Array;
  trace_state?: string;
  start_time_unix_nano?: string;
  end_time_unix_nano?: string;
  attributes: KeyValue[];
  events: { name?: string; attributes: KeyValue[] }[];
  status?: { code?: number; message?: string };
}

function decodeSpans(body: Buffer): ReceivedSpan[] {
  const request = traceRequest.toObject(traceRequest.decode(body), toObjectOptions) as {
    resource_spans: { resource?: { attributes: KeyValue[] }; scope_spans: { spans: RawSpan[] }[] }[];
  };
  return request.resource_spans.flatMap((rs) =>
    rs.scope_spans.flatMap((ss) =>
      ss.spans.map((s) => ({
        resource: attributes(rs.resource?.attributes),
        name: s.name ?? '',
        kind: s.kind ?? 0,
        traceId: hex(s.trace_id),
        spanId: hex(s.span_id),
        parentSpanId: hex(s.parent_span_id),
        traceState: s.trace_state ?? '',
        startTimeUnixNano: BigInt(s.start_time_unix_nano ?? 0),
        endTimeUnixNano: BigInt(s.end_time_unix_nano ?? 0),
        attributes: attributes(s.attributes),
        events: s.events.map((e) => ({ name: e.name ?? '', attributes: attributes(e.attributes) })),
        status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
      })),
    ),
  );
}

function attributes(list: readonly KeyValue[] | undefined): Record<string, Plain> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, kv.value ? plain(kv.value) : null]));
}

function plain(value: AnyValue): Plain {
  if (value.string_value !== undefined) return value.string_value;
  if (value.bool_value !== undefined) return value.bool_value;
  if (value.int_value !== undefined) return Number(value.int_value);
  if (value.double_value !== undefined) return value.double_value;
  if (value.array_value !== undefined) return (value.array_value.values ?? []).map(plain);
  if (value.kvlist_value !== undefined) return attributes(value.kvlist_value.values);
  if (value.bytes_value !== undefined) return hex(value.bytes_value);
  return null;
}

function hex(bytes: Uint8Array | undefined): string {
  return Buffer.from(bytes ?? []).toString('hex');
}
