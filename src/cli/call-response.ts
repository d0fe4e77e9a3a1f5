import * as grpc from '@grpc/grpc-js';
import { CheckResponseType } from '../wire/protos.js';
import { toProto3Json } from '../wire/proto-json.js';
import type { CommandResult } from './command.js';

type HttpResponse = {
  status?: { code?: string };
  headers?: { header?: { key?: string; value?: string }; append_action?: string }[];
  headers_to_remove?: string[];
  body?: string;
};

/**
 * A CheckResponse for a person (or as proto3 JSON), and the exit code. A deny is explained by the
 * reason code the server puts in dynamic_metadata (`code`), never by the gRPC status message: that
 * message is one fixed text per status ("denied by policy" for every 403, a bad path included),
 * so repeating it would blame a policy for refusals no policy made.
 */
export function describeResponse(response: Record<string, unknown>, json: boolean): CommandResult {
  const status = response.status as { code?: number; message?: string } | undefined;
  const code = status?.code ?? 0;
  const exit = code === 0 ? 0 : code === grpc.status.UNAVAILABLE ? 2 : 1;
  if (json) return { code: exit, out: `${JSON.stringify(toProto3Json(CheckResponseType, response), null, 2)}\n` };

  const metadata = response.dynamic_metadata ? (toProto3Json(CheckResponseType, { dynamic_metadata: response.dynamic_metadata }).dynamicMetadata as Record<string, unknown>) : {};
  const verdict = code === 0 ? 'ALLOW' : code === grpc.status.UNAVAILABLE ? 'ERROR' : 'DENY';
  const lines = [`${verdict}  grpc-status ${code} (${grpc.status[code] ?? 'UNKNOWN'})${code === 0 || verdict === 'DENY' ? '' : status?.message ? `: ${status.message}` : ''}`];
  if (verdict === 'DENY') lines.push(`  reason: ${typeof metadata.code === 'string' ? metadata.code : '(the server sent no reason code in dynamic_metadata)'}`);
  if (typeof metadata.decisionId === 'string') lines.push(`  decision id: ${metadata.decisionId}`);
  const http = (response.ok_response ?? response.denied_response ?? response.error_response) as HttpResponse | undefined;
  if (http?.status?.code) lines.push(`  http status: ${http.status.code}`);
  for (const h of http?.headers ?? []) lines.push(`  header ${h.header?.key}: ${h.header?.value}${h.append_action ? `  (${h.append_action})` : ''}`);
  for (const name of http?.headers_to_remove ?? []) lines.push(`  remove header ${name}`);
  if (http?.body) lines.push(`  body: ${http.body}`);
  if (response.dynamic_metadata) lines.push(`  dynamic metadata: ${JSON.stringify(metadata)}`);
  return { code: exit, out: `${lines.join('\n')}\n` };
}
