/**
 * Real proxies for the HTTP authorization tests: Debian's nginx (configured as ingress-nginx
 * configures `auth-url`) and Caddy (`forward_auth`), each a child process with its config, pid
 * and logs in a scratch directory, on a loopback ephemeral port, and an upstream that echoes the
 * headers it received. CI installs both (.ci/run); without them the tests fail and say so.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { waitFor } from '../support/server-process.js';

/** The binary's path, or a failure that tells the reader how to get it. */
export function requireBinary(name: 'nginx' | 'caddy'): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  if (found === '') throw new Error(`${name} is not installed: the proxy tests run Debian's ${name} (apt-get install -y nginx caddy; .ci/run does)`);
  return found;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An upstream that answers every request with the headers it got, as JSON. */
export async function echoUpstream(): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

export interface RunningProxy {
  readonly port: number;
  readonly output: () => string;
  stop(): Promise<void>;
}

async function run(command: string, args: readonly string[], port: number, env: NodeJS.ProcessEnv = process.env): Promise<RunningProxy> {
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const proxy: RunningProxy = {
    port,
    output: () => output,
    async stop() {
      if (!exited) child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exit, new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
      if (!exited) child.kill('SIGKILL');
    },
  };
  try {
    await waitFor(
      `${command} listening on ${port}`,
      async () => {
        if (exited) throw new Error(`${command} exited before listening:\n${output}`);
        return (await connects(port)) ? true : undefined;
      },
      10000,
      50,
    );
  } catch (err) {
    await proxy.stop();
    throw err;
  }
  return proxy;
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/**
 * nginx as ingress-nginx sets up `nginx.ingress.kubernetes.io/auth-url` with
 * `auth-response-headers`: an internal auth location sending X-Original-URL and
 * X-Original-Method, and the named response headers copied onto the upstream request.
 */
export async function startNginx(dir: string, gatehousePort: number, upstreamPort: number): Promise<RunningProxy> {
  const nginx = requireBinary('nginx');
  const port = await freePort();
  await mkdir(join(dir, 'temp'), { recursive: true });
  const conf = join(dir, 'nginx.conf');
  await writeFile(
    conf,
    `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/temp/body;
  proxy_temp_path ${dir}/temp/proxy;
  fastcgi_temp_path ${dir}/temp/fastcgi;
  uwsgi_temp_path ${dir}/temp/uwsgi;
  scgi_temp_path ${dir}/temp/scgi;
  server {
    listen 127.0.0.1:${port};
    location = /_external-auth {
      internal;
      proxy_pass http://127.0.0.1:${gatehousePort}/forward-auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Host $http_host;
    }
    location / {
      auth_request /_external-auth;
      auth_request_set $gatehouse_principal $upstream_http_x_gatehouse_principal;
      auth_request_set $gatehouse_decision $upstream_http_x_gatehouse_decision_id;
      proxy_set_header X-Gatehouse-Principal $gatehouse_principal;
      proxy_set_header X-Gatehouse-Decision-Id $gatehouse_decision;
      proxy_pass http://127.0.0.1:${upstreamPort};
    }
  }
}
`,
  );
  return run(nginx, ['-p', dir, '-c', conf, '-g', 'daemon off;'], port);
}

/** Caddy's `forward_auth` with `copy_headers`, in front of the upstream. */
export async function startCaddy(dir: string, gatehousePort: number, upstreamPort: number): Promise<RunningProxy> {
  const caddy = requireBinary('caddy');
  const port = await freePort();
  const file = join(dir, 'Caddyfile');
  await writeFile(
    file,
    `{
  admin off
  auto_https off
}
http://:${port} {
  bind 127.0.0.1
  forward_auth 127.0.0.1:${gatehousePort} {
    uri /forward-auth
    copy_headers X-Gatehouse-Principal X-Gatehouse-Decision-Id
  }
  reverse_proxy 127.0.0.1:${upstreamPort}
}
`,
  );
  // Caddy keeps state under $HOME / XDG directories: the scratch directory, not the machine's.
  const env = { ...process.env, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') };
  return run(caddy, ['run', '--config', file, '--adapter', 'caddyfile'], port, env);
}
