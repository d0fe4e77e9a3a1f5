import * as http from 'node:http';
import * as https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { ErrorCode, GatehouseError } from '../errors.js';

export interface ApiRequest {
  readonly signal: AbortSignal;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Largest response accepted. */
  readonly maxBytes?: number;
  readonly accept?: string;
}

export interface ApiResponse {
  readonly status: number;
  /** Parsed JSON; undefined when the body is empty or not JSON. */
  readonly body: unknown;
}

const defaultMaxBytes = 64 * 1024 * 1024;

/**
 * JSON requests to the API server with the kubeconfig's credentials: its CA, client certificate
 * and bearer token (a projected token file is re-read as it rotates). Paths are appended to the
 * server URL as written, so a server behind a path prefix works as it does for the watches.
 */
export class KubeApi {
  readonly #kc: KubeConfig;
  readonly server: string;

  constructor(kc: KubeConfig) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new GatehouseError(ErrorCode.config, 'kubernetes: the kubeconfig names no current cluster');
    this.#kc = kc;
    this.server = cluster.server.replace(/\/+$/, '');
  }

  async request(method: 'GET' | 'POST', path: string, options: ApiRequest): Promise<ApiResponse> {
    const tls: https.RequestOptions = {};
    await this.#kc.applyToHTTPSOptions(tls);
    const url = new URL(this.server + path);
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: http.OutgoingHttpHeaders = { ...(tls.headers as http.OutgoingHttpHeaders | undefined), accept: options.accept ?? 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.byteLength;
    }
    const transport = url.protocol === 'http:' ? http : https;
    const maxBytes = options.maxBytes ?? defaultMaxBytes;
    return new Promise<ApiResponse>((resolve, reject) => {
      const req = transport.request(url, { ...tls, method, headers, signal: options.signal }, (res) => {
        const chunks: Buffer[] = [];
        let total = 0;
        res.on('data', (chunk: Buffer) => {
          total += chunk.byteLength;
          if (total > maxBytes) {
            res.destroy(new Error(`${method} ${url.pathname} answered more than ${maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: parseJson(Buffer.concat(chunks).toString('utf8')) }));
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** A GET that must answer 2xx with JSON; `what` names the document in errors. */
  async getJson(path: string, what: string, options: ApiRequest): Promise<unknown> {
    const res = await this.request('GET', path, options);
    if (res.status < 200 || res.status > 299) throw new Error(`${what} answered HTTP ${res.status}${statusMessage(res.body)}`);
    if (res.body === undefined) throw new Error(`${what} is not JSON`);
    return res.body;
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The `message` of a Kubernetes Status object, shortened for error details. */
export function statusMessage(body: unknown): string {
  if (typeof body !== 'object' || body === null || !('message' in body) || typeof body.message !== 'string') return '';
  const text = body.message.replace(/[\u0000-\u001f\u007f-\u009f]/g, ''); // eslint-disable-line no-control-regex
  return `: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`;
}
