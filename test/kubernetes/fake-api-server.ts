import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

/**
 * A Kubernetes API server on loopback, speaking the real protocol for what gatehouse uses: lists
 * (`GET /api/v1/RESOURCE`, with `limit`/`continue`), watches (`?watch=true&resourceVersion=N`: a
 * chunked stream of newline-delimited `{type, object}` events, with a 410 `Status` in an ERROR
 * event for a version older than the history it keeps), OIDC discovery and JWKS, and TokenReview.
 * Every request must carry the configured bearer token. Tests drive it: change objects with or
 * without events, expire watches, drop connections, go down and come back on the same port.
 */

export type Resource = 'pods' | 'serviceaccounts' | 'namespaces';
export const resources: readonly Resource[] = ['pods', 'serviceaccounts', 'namespaces'];

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface HistoryEvent {
  readonly rv: number;
  readonly type: EventType;
  readonly object: KubeObject;
}

interface OpenWatch {
  readonly resource: Resource;
  readonly res: ServerResponse;
}

/** What a TokenReview answers for one token: a `status`, or an HTTP failure. */
export type Reviewer = (token: string, audiences: readonly string[]) => Record<string, unknown> | { httpStatus: number };

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
}

const kinds: Record<Resource, string> = { pods: 'Pod', serviceaccounts: 'ServiceAccount', namespaces: 'Namespace' };

export class FakeApiServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #objects: Record<Resource, Map<string, KubeObject>> = { pods: new Map(), serviceaccounts: new Map(), namespaces: new Map() };
  readonly #history: Record<Resource, HistoryEvent[]> = { pods: [], serviceaccounts: [], namespaces: [] };
  /** Watches from a version below this are answered 410 Gone. */
  readonly #compactedBelow: Record<Resource, number> = { pods: 0, serviceaccounts: 0, namespaces: 0 };
  readonly #watches = new Set<OpenWatch>();
  #rv = 100;
  #port = 0;
  #down = false;

  /** Lists started (first pages) per resource. */
  readonly lists: Record<Resource, number> = { pods: 0, serviceaccounts: 0, namespaces: 0 };
  /** List pages served per resource, first pages included. */
  readonly listPages: Record<Resource, number> = { pods: 0, serviceaccounts: 0, namespaces: 0 };
  /** Watch requests per resource, 410 answers included. */
  readonly watchRequests: Record<Resource, number> = { pods: 0, serviceaccounts: 0, namespaces: 0 };
  readonly gone: Record<Resource, number> = { pods: 0, serviceaccounts: 0, namespaces: 0 };
  readonly requests: RecordedRequest[] = [];
  /** TokenReviews per token. */
  readonly reviews = new Map<string, number>();
  reviewsInFlight = 0;
  maxReviewsInFlight = 0;
  reviewDelayMs = 0;
  reviewer: Reviewer = () => ({ authenticated: false, error: 'no reviewer configured' });
  issuer = 'https://kubernetes.default.svc.cluster.local';
  jwks: { keys: unknown[] } = { keys: [] };

  private constructor(readonly token: string) {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sendStatus(res, 500, 'InternalError', String(err));
        else res.destroy();
      });
    });
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(token = 'sa-token'): Promise<FakeApiServer> {
    const server = new FakeApiServer(token);
    await server.#listen(0);
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** A kubeconfig for this server; client-node refuses `http://` unless TLS verification is skipped. */
  writeKubeconfig(dir: string): string {
    const file = join(dir, 'kubeconfig.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '  - name: fake',
        '    cluster:',
        `      server: ${this.url}`,
        '      insecure-skip-tls-verify: true',
        'users:',
        '  - name: gatehouse',
        '    user:',
        `      token: ${this.token}`,
        'contexts:',
        '  - name: fake',
        '    context: { cluster: fake, user: gatehouse }',
        'current-context: fake',
        '',
      ].join('\n'),
    );
    return file;
  }

  /** Creates or replaces an object and tells the watches (ADDED or MODIFIED). */
  put(resource: Resource, object: KubeObject): KubeObject {
    const stored = this.#store(resource, object);
    this.#emit(resource, stored.type, stored.object);
    return stored.object;
  }

  remove(resource: Resource, namespace: string | undefined, name: string): void {
    const object = this.#unstore(resource, namespace, name);
    if (object) this.#emit(resource, 'DELETED', object);
  }

  /** Changes state with no event, as if the event fell out of a history the client then cannot resume. */
  putSilently(resource: Resource, object: KubeObject): KubeObject {
    return this.#store(resource, object).object;
  }

  removeSilently(resource: Resource, namespace: string | undefined, name: string): void {
    this.#unstore(resource, namespace, name);
  }

  /** Forgets the event history: a watch resuming from any earlier version gets 410 Gone. */
  compact(resource: Resource): void {
    this.#history[resource] = [];
    this.#compactedBelow[resource] = this.#rv;
  }

  /** Compacts, and ends open watches with an ERROR event holding a 410 Status, as the API server does. */
  expire(resource: Resource): void {
    this.compact(resource);
    for (const watch of [...this.#watches]) {
      if (watch.resource !== resource) continue;
      watch.res.end(`${JSON.stringify({ type: 'ERROR', object: goneStatus(resource, this.#rv) })}\n`);
      this.#watches.delete(watch);
    }
  }

  /** Resets the connections of open watches (all, or one resource's). */
  dropWatches(resource?: Resource): void {
    for (const watch of [...this.#watches]) {
      if (resource !== undefined && watch.resource !== resource) continue;
      watch.res.socket?.destroy();
      this.#watches.delete(watch);
    }
  }

  get openWatches(): number {
    return this.#watches.size;
  }

  /** Stops listening and resets every connection: clients see ECONNREFUSED until `up()`. */
  async down(): Promise<void> {
    this.#down = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#watches.clear();
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  async up(): Promise<void> {
    if (!this.#down) return;
    await this.#listen(this.#port);
    this.#down = false;
  }

  async close(): Promise<void> {
    if (this.#down) return;
    await this.down();
  }

  #listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        this.#port = (this.#server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  #store(resource: Resource, object: KubeObject): { type: EventType; object: KubeObject } {
    const key = keyOf(object.metadata.namespace, object.metadata.name);
    const existing = this.#objects[resource].get(key);
    const stored: KubeObject = structuredClone({
      apiVersion: 'v1',
      kind: kinds[resource],
      ...object,
      metadata: { uid: randomUUID(), ...object.metadata, resourceVersion: String(++this.#rv) },
    });
    this.#objects[resource].set(key, stored);
    return { type: existing ? 'MODIFIED' : 'ADDED', object: stored };
  }

  #unstore(resource: Resource, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = keyOf(namespace, name);
    const object = this.#objects[resource].get(key);
    if (!object) return undefined;
    this.#objects[resource].delete(key);
    return { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.#rv) } };
  }

  #emit(resource: Resource, type: EventType, object: KubeObject): void {
    const rv = Number(object.metadata.resourceVersion);
    this.#history[resource].push({ rv, type, object });
    for (const watch of this.#watches) {
      if (watch.resource === resource) watch.res.write(`${JSON.stringify({ type, object })}\n`);
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.requests.push({ method: req.method ?? '', path: url.pathname, authorization: req.headers.authorization });
    if (req.headers.authorization !== `Bearer ${this.token}`) return sendStatus(res, 401, 'Unauthorized', 'Unauthorized');

    const collection = /^\/api\/v1\/(pods|serviceaccounts|namespaces)$/.exec(url.pathname);
    if (req.method === 'GET' && collection) {
      const resource = collection[1] as Resource;
      return url.searchParams.get('watch') === 'true' ? this.#watch(resource, url, res) : this.#list(resource, url, res);
    }
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
      return sendJson(res, 200, {
        issuer: this.issuer,
        // The address published to outsiders; the API server serves the same keys at /openid/v1/jwks.
        jwks_uri: 'https://203.0.113.10:6443/openid/v1/jwks',
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (req.method === 'GET' && url.pathname === '/openid/v1/jwks') return sendJson(res, 200, this.jwks);
    if (req.method === 'POST' && url.pathname === '/apis/authentication.k8s.io/v1/tokenreviews') return this.#tokenReview(req, res);
    return sendStatus(res, 404, 'NotFound', `the server could not find the requested resource ${url.pathname}`);
  }

  #list(resource: Resource, url: URL, res: ServerResponse): void {
    const all = [...this.#objects[resource].entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, object]) => object);
    const limit = Number(url.searchParams.get('limit') ?? 0);
    const offset = Number(url.searchParams.get('continue') ?? 0);
    const items = limit > 0 ? all.slice(offset, offset + limit) : all.slice(offset);
    const more = limit > 0 && offset + limit < all.length;
    if (offset === 0) this.lists[resource] += 1;
    this.listPages[resource] += 1;
    sendJson(res, 200, {
      kind: `${kinds[resource]}List`,
      apiVersion: 'v1',
      metadata: { resourceVersion: String(this.#rv), ...(more ? { continue: String(offset + limit) } : {}) },
      items,
    });
  }

  #watch(resource: Resource, url: URL, res: ServerResponse): void {
    this.watchRequests[resource] += 1;
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const from = url.searchParams.get('resourceVersion') ?? '';
    if (from !== '' && from !== '0' && Number(from) < this.#compactedBelow[resource]) {
      this.gone[resource] += 1;
      res.end(`${JSON.stringify({ type: 'ERROR', object: goneStatus(resource, this.#rv, from) })}\n`);
      return;
    }
    const backlog =
      from === '' || from === '0'
        ? [...this.#objects[resource].values()].map((object) => ({ type: 'ADDED', object }))
        : this.#history[resource].filter((event) => event.rv > Number(from));
    for (const event of backlog) res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
    // Headers and backlog go out now, as a real server flushes them before any new event.
    res.flushHeaders();
    const watch: OpenWatch = { resource, res };
    this.#watches.add(watch);
    res.on('close', () => this.#watches.delete(watch));
  }

  async #tokenReview(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const review = JSON.parse(await readBody(req)) as { spec?: { token?: string; audiences?: string[] } };
    const token = review.spec?.token ?? '';
    this.reviews.set(token, (this.reviews.get(token) ?? 0) + 1);
    this.reviewsInFlight += 1;
    this.maxReviewsInFlight = Math.max(this.maxReviewsInFlight, this.reviewsInFlight);
    try {
      if (this.reviewDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.reviewDelayMs));
      const answer = this.reviewer(token, review.spec?.audiences ?? []);
      if ('httpStatus' in answer && typeof answer.httpStatus === 'number') {
        return sendStatus(res, answer.httpStatus, 'InternalError', 'the reviewer failed');
      }
      sendJson(res, 201, {
        kind: 'TokenReview',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { creationTimestamp: null },
        spec: { audiences: review.spec?.audiences },
        status: answer,
      });
    } finally {
      this.reviewsInFlight -= 1;
    }
  }
}

/** The Status a real API server puts in the ERROR event of a watch resumed from a compacted version. */
function goneStatus(resource: Resource, current: number, from = '?'): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `too old resource version: ${from} (${current}) for ${resource}`,
    reason: 'Expired',
    code: 410,
  };
}

function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string): void {
  sendJson(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
