import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { errorMessage } from '../errors.js';

export interface ReadinessReport {
  readonly ready: boolean;
  /** Shown on /readyz: policy version, reload errors, watch state. */
  readonly detail: Record<string, unknown>;
}

export interface HttpHandlers {
  /** Prometheus text: one process's registry, or a primary's merge of its workers'. */
  readonly metrics: { readonly contentType: string; metrics(): Promise<string> };
  readiness(): ReadinessReport;
  /** Extra routes (the assertion key set) keyed by path. */
  readonly routes?: ReadonlyMap<string, () => { contentType: string; body: string }>;
}

/** Health, readiness and metrics for kubelet and Prometheus. */
export function createHttpServer(handlers: HttpHandlers): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    void route(handlers, req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`internal error: ${errorMessage(err)}\n`);
    });
  });
}

async function route(handlers: HttpHandlers, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  switch (path) {
    case '/healthz':
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    case '/readyz': {
      const report = handlers.readiness();
      res
        .writeHead(report.ready ? 200 : 503, { 'content-type': 'application/json' })
        .end(`${JSON.stringify({ ready: report.ready, ...report.detail })}\n`);
      return;
    }
    case '/metrics': {
      const body = await handlers.metrics.metrics();
      res.writeHead(200, { 'content-type': handlers.metrics.contentType }).end(body);
      return;
    }
  }
  const extra = path === undefined ? undefined : handlers.routes?.get(path);
  if (extra) {
    const { contentType, body } = extra();
    res.writeHead(200, { 'content-type': contentType }).end(body);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
}
