/**
 * Plain HTTP/1.1 and h2c requests to the HTTP authorization listener, with the Host and headers
 * a proxy would send (fetch may not set Host), bounded in time.
 */
import http from 'node:http';
import http2 from 'node:http2';

export interface AuthzAnswer {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface AuthzCall {
  readonly method?: string;
  readonly path: string;
  /** Names as given; `host` sets the Host header (`:authority` over h2c). */
  readonly headers?: Readonly<Record<string, string>>;
}

export function h1Call(port: number, call: AuthzCall, timeoutMs = 5000): Promise<AuthzAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: call.method ?? 'GET', path: call.path, headers: call.headers, timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: flat(res.headers), body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export function h2cCall(port: number, call: AuthzCall, timeoutMs = 5000): Promise<AuthzAnswer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const timer = setTimeout(() => session.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    session.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    const { host, ...rest } = Object.fromEntries(Object.entries(call.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const stream = session.request({ ':method': call.method ?? 'GET', ':path': call.path, ...(host === undefined ? {} : { ':authority': host }), ...rest });
    let status = 0;
    let headers: Record<string, string> = {};
    let body = '';
    stream.on('response', (h) => {
      status = Number(h[':status']);
      headers = flat(h);
    });
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => {
      clearTimeout(timer);
      session.close();
      resolve({ status, headers, body });
    });
    stream.on('error', reject);
    stream.end();
  });
}

function flat(headers: Record<string, string | string[] | number | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !name.startsWith(':')) out[name] = Array.isArray(value) ? value.join(', ') : String(value);
  return out;
}
